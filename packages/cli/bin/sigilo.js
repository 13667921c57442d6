#!/usr/bin/env node
// Entry point of the `sigilo` command (built code in ../dist; run `npm run build` first).
import '../dist/main.js';
