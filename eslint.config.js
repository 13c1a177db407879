// ESLint flat config: correctness rules only. Formatting belongs to Prettier (eslint-config-prettier turns
// off every stylistic rule), so the two never disagree.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'fixtures/', 'test/fixtures-logs/', '.peer-audit/']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      // Terminal safety and JSON escaping match control characters on purpose.
      'no-control-regex': 'off',
      // A leading underscore marks a binding kept only to leave it out (`const { a: _a, ...rest } = o`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests drill into parsed JSON output, where `any` is the honest type.
      '@typescript-eslint/no-explicit-any': 'off',
      // Patterns over pretty-printed JSON and Markdown spell indentation as it appears.
      'no-regex-spaces': 'off',
    },
  },
  prettier,
  {
    // Prettier wraps code at 120 columns but not strings or comments; this holds those to the same width.
    // A regular expression stays on one line: split, it would be harder to read and to check.
    files: ['src/**/*.ts', 'rules/**/*.ts'],
    rules: { 'max-len': ['error', { code: 120, ignoreRegExpLiterals: true, ignoreUrls: true }] },
  },
);
