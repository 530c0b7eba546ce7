// ESLint rule: imports follow the layers (workflows -> environments -> packages; tooling ->
// packages). Layers come from the `layer:*` tag in each workspace package's `nx.tags`, so
// the rule reads the same facts Nx does. No relative import may leave its own project.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ALLOWED = {
  'layer:workflow': ['layer:workflow', 'layer:environment', 'layer:package'],
  'layer:environment': ['layer:environment', 'layer:package'],
  'layer:package': ['layer:package'],
  'layer:tooling': ['layer:package'],
};

function loadProjects(root) {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const projects = [];
  for (const pattern of rootPkg.workspaces ?? []) {
    const dirs = pattern.endsWith('/*')
      ? (existsSync(join(root, pattern.slice(0, -2))) ? readdirSync(join(root, pattern.slice(0, -2))).map((d) => join(pattern.slice(0, -2), d)) : [])
      : [pattern];
    for (const dir of dirs) {
      const file = join(root, dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      const layer = (pkg.nx?.tags ?? []).find((t) => t.startsWith('layer:'));
      projects.push({ name: pkg.name, root: resolve(root, dir), layer });
    }
  }
  return projects;
}

export function moduleBoundaries(root) {
  const projects = loadProjects(root);
  const byName = new Map(projects.map((p) => [p.name, p]));
  const owner = (file) => projects.find((p) => file === p.root || file.startsWith(p.root + sep));
  return {
    meta: { type: 'problem', docs: { description: 'Enforce workflows -> environments -> packages' }, schema: [] },
    create(context) {
      const file = resolve(context.filename);
      const from = owner(file);
      if (!from) return {};
      const check = (node, spec) => {
        if (typeof spec !== 'string') return;
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!(target === from.root || target.startsWith(from.root + sep))) {
            context.report({ node, message: `Relative import '${spec}' leaves project ${from.name} (${relative(root, from.root)}); import the other project by its package name` });
          }
          return;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        const to = byName.get(name);
        if (!to || to === from) return;
        if (!from.layer || !to.layer) {
          context.report({ node, message: `Project ${!from.layer ? from.name : to.name} has no layer:* tag in its package.json nx.tags` });
          return;
        }
        if (!ALLOWED[from.layer]?.includes(to.layer)) {
          context.report({ node, message: `${from.name} (${from.layer}) may not import ${to.name} (${to.layer}): dependencies point workflows -> environments -> packages` });
        }
      };
      return {
        ImportDeclaration: (node) => check(node.source, node.source.value),
        ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
        ExportAllDeclaration: (node) => check(node.source, node.source.value),
        ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
      };
    },
  };
}
