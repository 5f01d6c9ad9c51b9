import fs from 'node:fs';
import path from 'node:path';
import { Workspace } from '@agent-team/core';
import type { GlobalOptions } from '../context.js';
import { printJson } from '../format.js';
import { SAMPLE_SPEC } from '../spec.js';

export async function initCommand(dir: string | undefined, opts: GlobalOptions & { spec: string }): Promise<void> {
  const root = path.resolve(dir ?? opts.workspace);
  const existed = fs.existsSync(path.join(root, 'team.json'));
  const ws = Workspace.open(root, { create: true, watch: false });
  await ws.close();
  const specFile = path.resolve(opts.spec);
  const specExisted = fs.existsSync(specFile);
  if (!specExisted) {
    const rel = path.relative(path.dirname(specFile), root) || '.';
    fs.writeFileSync(specFile, SAMPLE_SPEC.replace('version: 1\n', `version: 1\nworkspace: ${rel}\n`));
  }
  if (opts.json) {
    printJson({ workspace: root, createdWorkspace: !existed, spec: specFile, createdSpec: !specExisted });
    return;
  }
  console.log(`${existed ? 'Workspace already there' : 'Created workspace'}: ${root}`);
  console.log(`${specExisted ? 'Kept existing spec' : 'Wrote sample spec'}: ${specFile}`);
  console.log(`Next: agent-team run ${path.relative(process.cwd(), specFile) || specFile}`);
}
