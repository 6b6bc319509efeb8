// Lint for correctness, not taste: typescript-eslint's type-checked recommended rules on sources and
// tests; Prettier owns layout.
const tseslint = require('typescript-eslint');
const js = require('@eslint/js');

module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'scratch/**', 'scratch-*/**', 'demo-out/**', 'tools/parity/.cache/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      // sources: each package's tsconfig.json, found by the project service
      parserOptions: { projectService: true, tsconfigRootDir: __dirname },
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
      // async is how a method meets a Promise-returning contract (Task.run, a check's run); no await in the body is normal
      '@typescript-eslint/require-await': 'off',
      // shapes and pads (number tuples) and the `never` of an exhaustive switch's default read fine in a message
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true, allowArray: true, allowNever: true },
      ],
      // off for now: ~170 redundant casts (mostly tfjs rank casts such as `as tf.Tensor4D`), many in files being
      // rewritten for issue 17; `eslint --fix` removes them all once that lands
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
    },
  },
  {
    // tests, tools and test/ belong to no package's tsconfig: tsconfig.test.json types them (`npm test` checks it)
    files: ['packages/**/test/**/*.ts', 'test/**/*.ts', 'tools/**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: ['./tsconfig.test.json'], tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // tests read the JSON that commands and scripts write (typed any); the expects that follow check it
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
  // plain JavaScript (benches, configs) has no types to check; the ts-plugin fixture and benches have their own tsconfig or none
  { files: ['**/*.js', 'test/fixtures/**', 'packages/**/bench/**'], ...tseslint.configs.disableTypeChecked },
);
