// ESLint flat config for the front ends (make lint-js). Plain browser scripts (ES2019,
// no modules, no build step); vendored files are someone else's code.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["static/vendor/**", "node_modules/**"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2019,
      sourceType: "script",
      globals: { ...globals.browser }
    },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      "no-var": "off",
      eqeqeq: ["error", "smart"],
      "no-implicit-globals": "error",
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-restricted-properties": ["error",
        { property: "innerHTML", message: "render with textContent / createElement" },
        { property: "outerHTML", message: "render with textContent / createElement" },
        { object: "document", property: "write", message: "never document.write" }],
      "no-prototype-builtins": "off"
    }
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module" }
  }
];
