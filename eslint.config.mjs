// Type-aware lint: the rules that catch unawaited writes and unsafe `any` at boundaries.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'cdk.out/', 'coverage/', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  { files: ['lambda/**/*.ts'], rules: { 'no-console': 'error' } },
  {
    // The core is pure (STYLE.md): no AWS SDK, no network, no process, no timers, and no clock
    // except the one passed in. Adapters and entry points do those things.
    files: ['lambda/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@aws-lambda-powertools/*'], message: 'lambda/core is pure: talk to AWS in an adapter, behind a port.' },
            {
              group: ['node:http', 'node:https', 'node:http2', 'node:net', 'node:dns', 'node:child_process', 'http', 'https', 'http2', 'net', 'dns', 'child_process', 'undici'],
              message: 'lambda/core is pure: network and processes belong in an adapter.',
            },
            { group: ['node:timers', 'node:timers/*', 'timers', 'timers/*'], message: 'lambda/core is pure: take a sleep or clock as an argument.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['process', 'fetch'].map((name) => ({ name, message: `lambda/core is pure: no ${name}; pass what you need in.` })),
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'performance'].map((name) => ({
          name,
          message: `lambda/core is pure: no ${name}; take a clock or sleep as an argument.`,
        })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'lambda/core is pure: use the clock passed in, not Date.now().' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'lambda/core is pure: use new Date(clock()), not new Date().' },
        { selector: "CallExpression[callee.name='Date']", message: 'lambda/core is pure: Date() reads the clock; use the clock passed in.' },
        { selector: "MemberExpression[object.name='globalThis']", message: 'lambda/core is pure: no globalThis.' },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
