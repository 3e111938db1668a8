// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports that would break Temporal's workflow sandbox (I/O, clocks, env) or the layering in STYLE.md. */
const sandboxBanned = {
  paths: [
    { name: 'pg', message: 'Workflow/domain/contracts code is sandboxed: no I/O. Use an activity.' },
    { name: 'fastify', message: 'Workflow/domain/contracts code is sandboxed: no HTTP.' },
    { name: '@slack/web-api', message: 'Workflow/domain/contracts code is sandboxed: call Slack from an activity.' },
    { name: 'jira.js', message: 'Workflow/domain/contracts code is sandboxed: call Jira from an activity.' },
    { name: '@temporalio/worker', message: 'Not in the workflow sandbox.' },
    { name: '@temporalio/client', message: 'Not in the workflow sandbox.' },
    { name: '@temporalio/activity', message: 'Not in the workflow sandbox.' },
  ],
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not available in the workflow sandbox.' },
    { group: ['**/config/*', '**/config'], message: 'Config is loaded at entry points only.' },
    { group: ['**/db/*', '**/api/*', '**/worker/*', '**/integrations/*'], message: 'No I/O layers here.' },
    { group: ['**/emulators/*'], message: 'src/ never imports the emulators.' },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.data', '.tools', 'coverage'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify plugins, route handlers and activities are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts', 'src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', sandboxBanned],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process/env in sandboxed code.' },
        { name: 'setTimeout', message: 'Use @temporalio/workflow sleep/condition.' },
        { name: 'setInterval', message: 'Use @temporalio/workflow sleep/condition.' },
      ],
    },
  },
  {
    files: ['src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@temporalio/worker', message: 'The API never runs workflows or activities.' }],
          patterns: [
            { group: ['**/activities/*', '**/worker/*'], message: 'api must not import activities or the worker.' },
            {
              group: ['**/workflows/*'],
              allowTypeImports: true,
              message: 'api references workflows by type/name only.',
            },
            { group: ['**/emulators/*'], message: 'src/ never imports the emulators.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/api/*'], message: 'activities must not import the api.' },
            { group: ['**/workflows/*'], allowTypeImports: true, message: 'activities import workflows by type only.' },
            { group: ['**/emulators/*'], message: 'src/ never imports the emulators.' },
          ],
        },
      ],
    },
  },
  {
    files: [
      'src/worker/**/*.ts',
      'src/db/**/*.ts',
      'src/integrations/**/*.ts',
      'src/infra/**/*.ts',
      'src/config/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/api/*'], message: 'only the api imports the api.' },
            { group: ['**/emulators/*'], message: 'src/ never imports the emulators.' },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'emulators/**/*.ts', 'dev/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['*.js', '*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
