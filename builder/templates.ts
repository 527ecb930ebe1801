// The template renderer moved to lib/templates.ts (shared with the LB configs); kept so the
// builder's modules import it from beside them.

export { readTemplateFile, render, shellQuote, templatePath } from '../lib/templates.js';
