/** Test helper: a correlation document built in code (the parser's output shape), for the evaluators' tests. */
import type { SigmaCorrelation } from './model.ts';

type Spec = SigmaCorrelation['correlation'];

/** A correlation with `over` set and defaults elsewhere (no group-by, 60 s timespan, generate false). */
export function correlationDoc(
  over: Partial<Spec> & Pick<Spec, 'type' | 'rules'>,
  title = 'test correlation',
): SigmaCorrelation {
  return {
    type: 'correlation',
    title,
    references: [],
    tags: [],
    falsepositives: [],
    fields: [],
    related: [],
    location: { file: 'c.yml', line: 1 },
    yaml: '',
    correlation: { groupBy: [], timespanSeconds: 60, aliases: {}, generate: false, ...over },
  };
}
