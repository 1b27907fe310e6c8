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

  constructor(private readonly globals: () => GlobalOptions) {}

  get config(): Config {
    this.#config ??= loadConfig({ file: this.globals().config });
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

  async close(): Promise<void> {
    if (this.#container) await (await this.#container).close();
    this.#logger?.flush();
  }
}
