/** Lazily built per-invocation context: config, logger and (only when a command needs it) the container. */
import { loadConfig, type Config } from '../config/config.ts';
import { createLogger, type Logger } from '../config/logger.ts';
import { createContainer, type Container } from '../container.ts';

export interface GlobalOptions {
  config?: string;
}

export class CliContext {
  #config?: Config;
  #logger?: Logger;
  #container?: Promise<Container>;
  #overrides: Record<string, unknown> = {};
  #keepOpen = false;

  constructor(private readonly globals: () => GlobalOptions) {}

  get config(): Config {
    this.#config ??= loadConfig({ file: this.globals().config, overrides: this.#overrides });
    return this.#config;
  }

  get logger(): Logger {
    this.#logger ??= createLogger(this.config);
    return this.#logger;
  }

  container(): Promise<Container> {
    this.#container ??= createContainer(this.config, this.logger);
    return this.#container;
  }

  /** Command-line values that win over file and environment; only before the config is first read. */
  override(values: Record<string, unknown>): void {
    if (this.#config) throw new Error('configuration already loaded');
    for (const [k, v] of Object.entries(values)) {
      const cur = this.#overrides[k];
      this.#overrides[k] =
        cur && typeof cur === 'object' && v && typeof v === 'object' ? { ...cur, ...v } : v;
    }
  }

  /** A long-running command (serve) owns the container's lifetime: do not close it when the action returns. */
  keepOpen(): void {
    this.#keepOpen = true;
  }

  get keepingOpen(): boolean {
    return this.#keepOpen;
  }

  async close(): Promise<void> {
    if (this.#keepOpen) return;
    if (this.#container) await (await this.#container).close();
    this.#logger?.flush();
  }
}
