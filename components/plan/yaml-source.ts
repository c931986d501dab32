/**
 * A YAML input file, parsed so that every problem can name its line and
 * column. Anchors and aliases are refused: a reviewer reads what is granted
 * where it is granted, and an alias bomb (a billion laughs) never expands.
 */
import * as YAML from "yaml";
import { Problems } from "./problems";

export class YamlSource {
    readonly problems: Problems;
    /** The plain value, or undefined when the text is not usable YAML (problems say why). */
    readonly value: unknown;
    private readonly doc: YAML.Document.Parsed;
    private readonly lines = new YAML.LineCounter();

    constructor(readonly file: string, text: string) {
        this.doc = YAML.parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
        this.problems = new Problems(file, (path) => this.locate(path));
        for (const e of [...this.doc.errors]) {
            const pos = this.lines.linePos(e.pos[0]);
            this.problems.list.push({ file, line: pos.line, column: pos.col, message: `not valid YAML: ${e.message.split("\n")[0]}` });
        }
        let aliases = 0;
        YAML.visit(this.doc, {
            Alias: (_, node) => {
                if (aliases++ === 0) this.problems.list.push({ file, ...this.position(node), message: "YAML aliases (*name) are not accepted: write each value out where it applies" });
            },
            Node: (_, node) => {
                if ((node as { anchor?: string }).anchor && aliases === 0) {
                    this.problems.list.push({ file, ...this.position(node), message: "YAML anchors (&name) are not accepted: write each value out where it applies" });
                    aliases++;
                }
            },
        });
        this.value = this.problems.list.length === 0 ? this.doc.toJS({ maxAliasCount: 0 }) : undefined;
    }

    /** Line and column of the entry at `path` (a mapping key, or a list item); for a missing one, of its nearest parent. */
    locate(path: (string | number)[]): { line: number; column: number } | undefined {
        for (let n = path.length; n > 0; n--) {
            const parent = n === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, n - 1), true);
            const key = path[n - 1];
            if (YAML.isMap(parent)) {
                const pair = parent.items.find((p) => YAML.isScalar(p.key) && p.key.value === key);
                if (pair && YAML.isNode(pair.key)) return this.position(pair.key);
            } else if (YAML.isSeq(parent) && typeof key === "number" && YAML.isNode(parent.items[key])) {
                return this.position(parent.items[key] as YAML.Node);
            }
        }
        return this.doc.contents ? this.position(this.doc.contents) : undefined;
    }

    private position(node: YAML.Node | YAML.Alias): { line: number; column: number } | undefined {
        if (!node.range) return undefined;
        const p = this.lines.linePos(node.range[0]);
        return { line: p.line, column: p.col };
    }
}
