// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import prettier from 'eslint-config-prettier';
import { uiImports } from './scripts/eslint/ui-imports.mjs';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.loops/', 'demo/project/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // Import boundaries: the split between engine, models and screen holds by rule, not by habit.
  {
    files: ['src/core/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'ink', message: 'core is the engine: no UI (ink) here; emit an event instead.' },
            { name: 'react', message: 'core is the engine: no React here; emit an event instead.' },
          ],
          patterns: [
            { group: ['**/ui/**', 'ink/*', 'react/*'], message: 'core imports nothing of the screen.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/models/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/state/**'],
              message: 'models talk to providers; the state folder is the engine’s.',
            },
          ],
        },
      ],
    },
  },
  // The screen's boundary is an allowlist (scripts/eslint/ui-imports.mjs): ui, the engine protocol, libraries.
  {
    files: ['src/ui/**'],
    plugins: { loops: { rules: { 'ui-imports': uiImports } } },
    rules: { 'loops/ui-imports': 'error' },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
