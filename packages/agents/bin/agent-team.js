#!/usr/bin/env node
// The agent-team command. `#cli` (package.json "imports") is the built CLI,
// dist/cli/main.js. Inside this repository, under the "@agent-team/source"
// condition that the repo's scripts and tests set, it is the TypeScript
// source instead, run through tsx (a devDependency, never loaded otherwise).
const cli = import.meta.resolve('#cli');
if (cli.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(cli);
