// Local ESLint rules for the workspace boundaries (see docs/CONVENTIONS.md "Packages"):
//   declared-workspace-deps: a package imports another workspace package only if its package.json
//     declares it (dependencies; devDependencies are enough for tests).
//   public-entry-only: another package is entered through its public modules: never through
//     src/ or dist/, never by a relative path that leaves the package, and a folder that has an
//     index.ts is entered through that index.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
/** Workspace folder -> its manifest; and package name -> folder. */
const workspaces = new Map();
const folderOf = new Map();
for (const ws of rootManifest.workspaces ?? []) {
  const manifest = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'));
  workspaces.set(ws, manifest);
  folderOf.set(manifest.name, ws);
}

function workspaceOfFile(file) {
  const rel = relative(root, file);
  if (rel.startsWith('..')) return undefined;
  const top = rel.split(sep)[0];
  return workspaces.has(top) ? top : undefined;
}

const isTestFile = (file) => /\.test\.ts$/.test(file) || relative(root, file).split(sep)[0] === 'test';

/** '@xsctl/controller/xapi/xapi-client' -> { name: '@xsctl/controller', sub: 'xapi/xapi-client' }; 'xsctl/x' too. */
function splitSpecifier(spec) {
  const m = /^(@xsctl\/[^/]+|xsctl)(?:\/(.*))?$/.exec(spec);
  if (m === null || !folderOf.has(m[1])) return undefined;
  return { name: m[1], sub: m[2] ?? '' };
}

function visitImports(context, check) {
  const onSource = (node) => {
    const source = node.source;
    if (source === null || source === undefined || source.type !== 'Literal' || typeof source.value !== 'string') return;
    check(source, source.value);
  };
  return { ImportDeclaration: onSource, ExportNamedDeclaration: onSource, ExportAllDeclaration: onSource, ImportExpression: onSource };
}

const declaredWorkspaceDeps = {
  meta: { type: 'problem', docs: { description: 'workspace packages declare the @xsctl/* packages they import' }, schema: [] },
  create(context) {
    const file = context.filename;
    const ws = workspaceOfFile(file);
    if (ws === undefined) return {};
    const manifest = workspaces.get(ws);
    const allowed = new Set([manifest.name, ...Object.keys(manifest.dependencies ?? {}), ...(isTestFile(file) ? Object.keys(manifest.devDependencies ?? {}) : [])]);
    return visitImports(context, (node, spec) => {
      const target = splitSpecifier(spec);
      if (target === undefined || allowed.has(target.name)) return;
      context.report({ node, message: `${manifest.name} imports ${target.name} but its package.json does not declare it` });
    });
  },
};

const publicEntryOnly = {
  meta: { type: 'problem', docs: { description: "import another package only through its public modules" }, schema: [] },
  create(context) {
    const file = context.filename;
    const ws = workspaceOfFile(file);
    return visitImports(context, (node, spec) => {
      if (spec.startsWith('.')) {
        if (ws === undefined) return;
        const target = resolve(dirname(file), spec);
        if (workspaceOfFile(target) !== ws || relative(join(root, ws), target).startsWith('..')) {
          context.report({ node, message: `relative import ${spec} leaves package ${ws}: import the other package by name` });
        }
        return;
      }
      const target = splitSpecifier(spec);
      if (target === undefined) return;
      const folder = folderOf.get(target.name);
      if (/^(src|dist|node_modules)(\/|$)/.test(target.sub)) {
        context.report({ node, message: `${spec} reaches into ${target.name}'s ${target.sub.split('/')[0]}/: use its public module path` });
        return;
      }
      if (ws === folder || target.sub === '' || target.sub === 'package.json') return;
      const parts = target.sub.split('/');
      const last = parts[parts.length - 1];
      const dirParts = parts.slice(0, -1);
      // A folder with an index.ts is a module with one public entry; its other files are internal.
      // The deepest such folder on the path decides.
      for (let i = dirParts.length; i >= 1; i--) {
        const dir = dirParts.slice(0, i).join('/');
        if (!existsSync(join(root, folder, 'src', dir, 'index.ts'))) continue;
        if (!(i === dirParts.length && last === 'index')) context.report({ node, message: `${spec} is internal to ${target.name}/${dir}: import ${target.name}/${dir}/index` });
        return;
      }
    });
  },
};

export default { rules: { 'declared-workspace-deps': declaredWorkspaceDeps, 'public-entry-only': publicEntryOnly } };
