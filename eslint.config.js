// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** No file under src/ imports the emulators (tests and the dev stack wire them in). */
const noEmulators = { group: ['**/emulators/**'], message: 'src/ never imports the emulators.' };

/**
 * Sandboxed code: workflows, their domain rules and contracts (docs/architecture.md, import table).
 * Imports that would break Temporal's workflow sandbox (I/O, clocks, env) are banned, and
 * activities may be imported for their types only (`import type`), never at runtime.
 */
const SANDBOX_FILES = [
  'src/**/workflow.ts',
  'src/**/workflow/**/*.ts',
  'src/**/domain/**/*.ts',
  'src/**/contract.ts',
  'src/platform/workflows.ts',
];
const sandboxBanned = {
  paths: [
    {
      name: '@temporalio/workflow',
      importNames: ['proxyLocalActivities'],
      message:
        'Use localActivities (platform/temporal/workflow/local.ts): a local activity that timed out replays as a bare TimeoutFailure otherwise.',
    },
    { name: 'pg', message: 'Workflow/domain/contract code is sandboxed: no I/O. Use an activity.' },
    { name: 'fastify', message: 'Workflow/domain/contract code is sandboxed: no HTTP.' },
    { name: 'zod', message: 'Validate at the trust boundary (api, activities), not in sandboxed code.' },
    { name: '@slack/web-api', message: 'Workflow/domain/contract code is sandboxed: call Slack from an activity.' },
    { name: 'jira.js', message: 'Workflow/domain/contract code is sandboxed: call Jira from an activity.' },
    { name: '@temporalio/worker', message: 'Not in the workflow sandbox.' },
    { name: '@temporalio/client', message: 'Not in the workflow sandbox.' },
    { name: '@temporalio/activity', message: 'Not in the workflow sandbox.' },
  ],
  patterns: [
    { group: ['node:*'], message: 'Node built-ins are not available in the workflow sandbox.' },
    {
      group: ['**/activities', '**/activities.js', '**/*-activities.js'],
      allowTypeImports: true,
      message: 'Workflows import activities by `import type` only (proxyActivities gives the implementation).',
    },
    {
      group: ['**/config', '**/config.js', '**/config/*', '**/flow.js', '**/start.js', '**/slack.js'],
      allowTypeImports: true,
      message: 'Config and flow wiring are loaded at entry points only.',
    },
    {
      group: ['**/db/*', '**/repo.js', '**/api', '**/api.js', '**/api/*', '**/worker/*', '**/integrations/**'],
      allowTypeImports: true,
      message: 'No I/O layers in sandboxed code.',
    },
    noEmulators,
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
    files: SANDBOX_FILES,
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
    // The HTTP side: the app, each flow's routes, the Slack ingress, the HTTP helpers.
    files: [
      'src/api/**/*.ts',
      'src/console/**/*.ts',
      'src/flows/*/api.ts',
      'src/flows/*/webhook.ts',
      'src/platform/slack-ingress/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@temporalio/worker', message: 'The API never runs workflows or activities.' }],
          patterns: [
            {
              group: ['**/activities', '**/activities.js', '**/*-activities.js', '**/worker/*'],
              message: 'api must not import activities or the worker.',
            },
            {
              group: ['**/workflow', '**/workflow.js', '**/workflow/*', '**/workflows.js'],
              allowTypeImports: true,
              message: 'api references workflows by type/name only.',
            },
            noEmulators,
          ],
        },
      ],
    },
  },
  {
    files: ['src/flows/*/activities.ts', 'src/platform/**/*activities.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/api', '**/api.js', '**/api/*', '**/slack-ingress/*'],
              message: 'activities must not import the api.',
            },
            {
              group: ['**/workflow', '**/workflow.js', '**/workflow/*', '**/workflows.js'],
              allowTypeImports: true,
              message: 'activities import workflows by type only.',
            },
            noEmulators,
          ],
        },
      ],
    },
  },
  {
    files: ['src/worker/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/api/*', '**/api.js', '**/slack-ingress/*'], message: 'the worker must not import the api.' },
            noEmulators,
          ],
        },
      ],
    },
  },
  {
    // The platform never names a flow: flows declare themselves (flow.ts) and entry points pass the registry.
    files: ['src/platform/**/*.ts'],
    ignores: SANDBOX_FILES,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/flows/**', '**/api/*'], message: 'the platform must not import flows or the api.' },
            noEmulators,
          ],
        },
      ],
    },
  },
  {
    // Integrations hold wire formats; an adapter may name the flow contract it maps onto, by type only.
    files: ['src/integrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/flows/**'],
              allowTypeImports: true,
              message: 'integrations know flow contracts by type only.',
            },
            { group: ['**/api/*', '**/platform/slack-ingress/*'], message: 'integrations must not import the api.' },
            noEmulators,
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
    // Plain JS is outside the TS project: the root configs, and CommonJS modules the Temporal SDK require()s.
    files: ['*.js', '*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The sandbox views' browser modules (served as they are, no build step).
    files: ['emulators/**/ui/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'fetch',
          'EventSource',
          'DOMParser',
          'CustomEvent',
          'URL',
          'URLSearchParams',
          'setTimeout',
          'clearTimeout',
          'Element',
          'HTMLElement',
          'HTMLInputElement',
          'HTMLTextAreaElement',
          'HTMLSelectElement',
          'HTMLFormElement',
          'HTMLAnchorElement',
          'HTMLDialogElement',
          'HTMLDetailsElement',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
