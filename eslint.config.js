// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "bench/.cache/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "import-x": importX },
    settings: { "import-x/resolver": { node: { extensions: [".ts", ".js"] } } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            {
              from: "package",
              package: "node:test",
              name: ["describe", "it", "test", "suite", "before", "after"],
            },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
      "import-x/no-cycle": "error",
      "import-x/no-default-export": "error",
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(?:\\.\\./)+(?:[^/]+/)+(?!index\\.js$)[^/]+$",
              message: "Import another folder through its index.ts, never its internals.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["eslint.config.js", "bin/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ["eslint.config.js"],
    rules: { "import-x/no-default-export": "off" },
  },
  {
    // The bin shim loads the compiled entry point.
    files: ["bin/**/*.js"],
    rules: { "no-restricted-imports": "off" },
  },
);
