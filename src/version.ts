// The project's release, from package.json (inlined by the bundler). Images are tagged v<VERSION>.
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
export const OPERATOR_IMAGE = `bzzz/bzzzctl:v${VERSION}`;
