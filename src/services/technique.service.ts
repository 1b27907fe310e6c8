/** MITRE ATT&CK techniques (global data): read-only for requests; the ATT&CK loader writes them. */
import { NotFoundError } from '../domain/errors.ts';
import type { TechniqueFilters } from '../domain/schemas/technique.schema.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Technique, TechniqueRepository } from '../repositories/technique.repository.ts';

export class TechniqueService {
  constructor(private readonly techniques: TechniqueRepository) {}

  list(opts: ListOptions<TechniqueFilters> = {}): Promise<Page<Technique>> {
    return this.techniques.list(opts);
  }

  /** By ATT&CK id (case-insensitive); throws NotFoundError. */
  async getByTechniqueId(techniqueId: string): Promise<Technique> {
    const row = await this.techniques.getByTechniqueId(techniqueId);
    if (!row) throw new NotFoundError('technique', techniqueId);
    return row;
  }
}
