/**
 * Code-aware cache keys (`cache.exact.normalize_code`): fenced code blocks in a prompt are keyed by
 * their syntax tree, so the same code with other whitespace, layout or comments reads the same
 * entry, while any change of an identifier, a literal or the structure reads another.
 *
 * The parser is tree-sitter's WebAssembly build (web-tree-sitter) with the grammars' .wasm files as
 * the npm packages ship them, loaded once per process; nothing is fetched at run time. A block
 * whose language is not known, that does not parse cleanly, or whose tree does not account for
 * every non-blank character of it, is kept verbatim: normalizing may only merge what is certainly
 * the same code.
 */
import { createRequire } from 'node:module';
import { Language, Parser, type Node } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

/** Fence info strings → grammar package (each ships `<package>.wasm` at its root). */
const GRAMMARS: Record<string, string> = {
  js: 'tree-sitter-javascript',
  javascript: 'tree-sitter-javascript',
  jsx: 'tree-sitter-javascript',
  mjs: 'tree-sitter-javascript',
  cjs: 'tree-sitter-javascript',
  py: 'tree-sitter-python',
  python: 'tree-sitter-python',
  python3: 'tree-sitter-python',
};

/** A CommonMark fence: an opening run of ``` or ~~~ with its info string, the code, the same run closing it. */
const FENCE = /^(`{3,}|~{3,})[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n([\s\S]*?)\n\1[ \t]*$/gm;

export type CodeNormalizer = (text: string) => string;

let loading: Promise<CodeNormalizer> | undefined;

/** The normalizer, its parser and grammars loaded on first use and shared after. */
export function codeNormalizer(): Promise<CodeNormalizer> {
  loading ??= load();
  return loading;
}

async function load(): Promise<CodeNormalizer> {
  await Parser.init();
  const languages = new Map<string, Language>();
  for (const grammar of new Set(Object.values(GRAMMARS))) {
    languages.set(grammar, await Language.load(require.resolve(`${grammar}/${grammar}.wasm`)));
  }
  const parser = new Parser();
  return (text) => {
    if (!text.includes('```') && !text.includes('~~~')) return text;
    return text.replace(FENCE, (block: string, fence: string, info: string, code: string) => {
      const grammar = GRAMMARS[info.toLowerCase()];
      const language = grammar && languages.get(grammar);
      if (!language) return block;
      parser.setLanguage(language);
      const tree = parser.parse(code);
      if (!tree) return block;
      try {
        const canonical = tree.rootNode.hasError ? undefined : syntaxOf(tree.rootNode, code);
        return canonical === undefined ? block : `${fence}${info}\n${canonical}\n${fence}`;
      } finally {
        tree.delete();
      }
    });
  };
}

/**
 * The tree as an S-expression: named structure and every token's text, comments left out.
 * Undefined when some non-blank source text is in no token (the tree would not say all of it).
 */
function syntaxOf(root: Node, source: string): string | undefined {
  const out: string[] = [];
  const walk = (node: Node): boolean => {
    if (node.type === 'comment') return true;
    if (node.childCount === 0) {
      out.push(JSON.stringify(node.text));
      return true;
    }
    out.push(`(${node.type}`);
    let covered = node.startIndex;
    for (const child of node.children) {
      if (!child || !blank(source, covered, child.startIndex) || !walk(child)) return false;
      covered = child.endIndex;
    }
    out.push(')');
    return blank(source, covered, node.endIndex);
  };
  return walk(root) && blank(source, 0, root.startIndex) && blank(source, root.endIndex, source.length) ? out.join(' ') : undefined;
}

function blank(source: string, from: number, to: number): boolean {
  return from >= to || source.slice(from, to).trim() === '';
}
