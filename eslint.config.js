// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Layering (DESIGN.md): http | cli | jobs -> services -> repositories -> db | logstore; domain for all. */
const restrict = (patterns) => ({
  '@typescript-eslint/no-restricted-imports': ['error', { patterns }],
});
const up = (dir, why) => ({ group: [`**/${dir}/**`, `../${dir}`, `../../${dir}`], message: why });

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', 'migrations/**', '.vigil-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: restrict([
      up('db', 'domain imports nothing else of ours'),
      up('repositories', 'domain imports nothing else of ours'),
      up('services', 'domain imports nothing else of ours'),
      up('http', 'domain imports nothing else of ours'),
      up('cli', 'domain imports nothing else of ours'),
      up('config', 'domain imports nothing else of ours'),
      {
        group: ['drizzle-orm', 'drizzle-orm/*', 'pg', 'fastify', '@electric-sql/*'],
        message: 'domain is storage- and transport-free',
      },
    ]),
  },
  {
    files: ['src/db/**/*.ts'],
    rules: restrict([
      up('repositories', 'db is below repositories'),
      up('services', 'db is below services'),
      up('http', 'db is below http'),
      up('cli', 'db is below cli'),
    ]),
  },
  {
    files: ['src/repositories/**/*.ts'],
    rules: restrict([
      up('services', 'repositories are below services'),
      up('http', 'repositories are below http'),
      up('cli', 'repositories are below cli'),
      { group: ['fastify'], message: 'no transport in repositories' },
    ]),
  },
  {
    files: ['src/services/**/*.ts'],
    rules: restrict([
      up('http', 'services never import http'),
      up('cli', 'services never import cli'),
      { group: ['fastify', '@fastify/*'], message: 'services never import Fastify' },
      {
        group: ['drizzle-orm', 'drizzle-orm/*', 'pg'],
        message: 'services never build SQL: use a repository',
      },
      { group: ['**/db/schema/**', '**/db/schema'], message: 'services never build SQL: use a repository' },
    ]),
  },
  {
    files: ['src/http/**/*.ts', 'src/cli/**/*.ts', 'src/jobs/**/*.ts'],
    rules: restrict([
      {
        group: ['drizzle-orm', 'drizzle-orm/*', 'pg'],
        message: 'go through a service',
        allowTypeImports: true,
      },
      { group: ['**/db/schema/**', '**/db/schema'], message: 'go through a service', allowTypeImports: true },
      {
        group: ['**/repositories/*.repository.ts'],
        message: 'go through a service (or the container)',
        allowTypeImports: true,
      },
    ]),
  },
  {
    files: ['src/sigma/**/*.ts', 'src/ingest/**/*.ts', 'src/intel/**/*.ts'],
    rules: restrict([
      up('db', 'parsers are pure'),
      up('repositories', 'parsers are pure'),
      up('logstore', 'parsers are pure'),
      up('services', 'parsers are pure'),
    ]),
  },
);
