import { Scalar, isAlias, isMap, isScalar, isSeq, type Alias, type Node, type Pair } from "yaml";

/**
 * Values a task file may hold with its aliases expanded, every alias
 * counted as the values of the node it stands for: a file of a thousand tasks holds ~20,000; a "billion laughs"
 * (each anchor aliasing the one before ten times) would hold 10^9.
 */
export const MAX_EXPANDED_VALUES = 200_000;

type Report = (node: Node | null | undefined, message: string) => void;

/**
 * The document's tree with every alias (`*name`) replaced by the node its
 * anchor (`&name`) marks, and each merge key (`<<: *defaults`, or a
 * list of them) replaced by the pairs it brings in that the mapping does not
 * set itself, as YAML 1.1 and docker compose and GitLab CI files have them:
 * the checks that follow see plain mappings. The node is shared, not
 * copied (it is expanded before the alias is met, and nothing changes it
 * after), and keeps its place in the file: a problem in it names the
 * anchor's line. Problems (an alias
 * inside its own anchor, a merge of something other than a mapping, an
 * expansion past MAX_EXPANDED_VALUES) go to `report`.
 */
export function expandAliases(root: Node | null, report: Report): Node | null {
  const expansion = new Expansion(report);
  try {
    return expansion.expand(root);
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
    report(error.at, `the anchors and aliases expand to more than ${MAX_EXPANDED_VALUES} values (each alias stands for all its anchor marks, so aliases of aliases multiply): alias less`);
    return null;
  }
}

class TooLarge extends Error {
  constructor(readonly at: Node) {
    super("too large");
  }
}

class Expansion {
  /** The node each anchor marks, as the walk (in the file's order) has met them: an alias takes the last before it. */
  private readonly anchors = new Map<string, Node>();
  /** The collections being expanded: an alias of one of them would copy itself into itself. */
  private readonly open = new Set<Node>();
  private values = 0;

  constructor(private readonly report: Report) {}

  expand(node: Node | null): Node | null {
    if (node === null) return null;
    if (isAlias(node)) return this.resolve(node);
    if (node.anchor !== undefined) this.anchors.set(node.anchor, node);
    this.count(node);
    if (isMap(node)) {
      this.open.add(node);
      for (const pair of node.items as Pair<Node | null, Node | null>[]) {
        pair.key = this.expand(pair.key);
        pair.value = this.expand(pair.value);
      }
      this.open.delete(node);
      this.merge(node.items as Pair<Node | null, Node | null>[]);
    } else if (isSeq(node)) {
      this.open.add(node);
      node.items = (node.items as (Node | null)[]).map((item) => this.expand(item));
      this.open.delete(node);
    }
    return node;
  }

  private resolve(alias: Alias): Node | null {
    const target = this.anchors.get(alias.source);
    if (target === undefined) {
      // The parser has said so already (an alias with no anchor before it is a YAML error).
      this.report(alias, `unknown alias *${alias.source}: mark the node it stands for with &${alias.source} before it`);
      return null;
    }
    if (this.open.has(target)) {
      this.report(alias, `the alias *${alias.source} is inside the node &${alias.source} marks: a node cannot hold itself`);
      return null;
    }
    // The target has been expanded already (it comes before the alias and does not hold it): it holds no alias.
    this.countAll(target, alias);
    return target;
  }

  /** Replaces each merge key's pair by the pairs its mappings bring that are not set before: the mapping's own, then earlier merges. */
  private merge(items: Pair<Node | null, Node | null>[]): void {
    if (!items.some((pair) => isMergeKey(pair.key))) return;
    const keyOf = (pair: Pair<Node | null, Node | null>): string | undefined => (isScalar(pair.key) ? String(pair.key.value) : undefined);
    const set = new Set(items.filter((pair) => !isMergeKey(pair.key)).map(keyOf));
    const merged: Pair<Node | null, Node | null>[] = [];
    for (const pair of items) {
      if (!isMergeKey(pair.key)) {
        merged.push(pair);
        continue;
      }
      const sources = isSeq(pair.value) ? (pair.value.items as (Node | null)[]) : [pair.value];
      for (const source of sources) {
        if (!isMap(source)) {
          this.report(source ?? pair.key, "<< merges a mapping into this one: an alias of a mapping (<<: *defaults) or a list of them");
          continue;
        }
        for (const brought of source.items as Pair<Node | null, Node | null>[]) {
          const key = keyOf(brought);
          if (set.has(key)) continue;
          set.add(key);
          merged.push(brought);
        }
      }
    }
    items.splice(0, items.length, ...merged);
  }

  private count(at: Node): void {
    this.values += 1;
    if (this.values > MAX_EXPANDED_VALUES) throw new TooLarge(at);
  }

  /** Counts every value of a node an alias stands for, as if the walk had met them again. */
  private countAll(node: Node | null, at: Node): void {
    if (node === null) return;
    this.count(at);
    if (isMap(node)) {
      for (const pair of node.items as Pair<Node | null, Node | null>[]) {
        this.countAll(pair.key, at);
        this.countAll(pair.value, at);
      }
    } else if (isSeq(node)) {
      for (const item of node.items as (Node | null)[]) this.countAll(item, at);
    }
  }
}

/** `<<` written plain, as YAML 1.1's merge key is (a quoted "<<" is an ordinary key). */
function isMergeKey(key: Node | null): boolean {
  return isScalar(key) && key.value === "<<" && (key.type === undefined || key.type === Scalar.PLAIN);
}
