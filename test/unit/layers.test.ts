/**
 * The layout's promises (DESIGN.md, issue 13): the request path does not know the HTTP server, and
 * no two top-level folders of src/ import each other, directly or round a longer loop.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** The entry point starts the server: it is the one folder above it. */
const ABOVE_SERVER = new Set(['cli']);


interface Edge {
  file: string;
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const folderOf = (path: string): string => relative(SRC, path).split('/')[0]!;

/** Every relative import (static, re-export, type-only or dynamic) that crosses a top-level folder. */
function crossings(): Edge[] {
  const edges: Edge[] = [];
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.[^'"]+)['"]/g;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(specifier)) {
      const target = resolve(dirname(file), match[1]!);
      if (!target.startsWith(SRC + '/')) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from !== to) edges.push({ file: relative(SRC, file), from, to });
    }
  }
  return edges;
}

/** A loop of folders, if the import graph between folders has one. */
function findLoop(edges: Edge[]): string[] | undefined {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(to);
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (folder: string): string[] | undefined => {
    if (state.get(folder) === 'done') return undefined;
    if (state.get(folder) === 'open') return [...path.slice(path.indexOf(folder)), folder];
    state.set(folder, 'open');
    path.push(folder);
    for (const to of next.get(folder) ?? []) {
      const loop = visit(to);
      if (loop) return loop;
    }
    path.pop();
    state.set(folder, 'done');
    return undefined;
  };
  for (const folder of next.keys()) {
    const loop = visit(folder);
    if (loop) return loop;
  }
  return undefined;
}

describe('the layout of src/', () => {
  const edges = crossings();

  it('finds the imports it checks (the scan itself works)', () => {
    assert.ok(edges.some((edge) => edge.from === 'server' && edge.to === 'pipeline'));
    assert.ok(edges.some((edge) => edge.from === 'batch' && edge.to === 'pipeline'));
  });

  it('nothing below the HTTP server imports from src/server/', () => {
    const offending = edges.filter((edge) => edge.to === 'server' && !ABOVE_SERVER.has(edge.from)).map((edge) => edge.file);
    assert.deepEqual([...new Set(offending)], []);
  });

  it('no import loop between top-level folders', () => {
    assert.equal(findLoop(edges)?.join(' → '), undefined);
  });
});
