#!/usr/bin/env node
// Entry point: the bundled CLI lives in dist/ (built by `npm ci` through the prepare script).
import '../dist/polyfill.js';
import { main } from '../dist/cli.js';
main(process.argv).then((code) => { process.exitCode = code; });
