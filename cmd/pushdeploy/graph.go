package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/statemachine"
)

// runGraph is `pushdeploy graph`.
func runGraph(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("graph", "[--definition FILE] [--markdown]",
		"Prints the state machine as a Mermaid flowchart: states (Task, Choice, Pass, Wait,\n"+
			"Succeed, Fail, Parallel, Map), Next edges, Choice rules with their conditions and\n"+
			"Default, Catch edges dashed with their errors. Task-token waits are marked.\n"+
			"The output is deterministic (states in the order they are reached from StartAt).",
		stdout, stderr)
	def := c.fs.String("definition", "", "ASL definition file (default: pushdeploy's own, built into this binary)")
	md := c.fs.Bool("markdown", false, "wrap the chart in a ```mermaid block")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	raw, name := statemachine.Deploy, "statemachine/deploy.asl.json (built in)"
	if *def != "" {
		var err error
		if raw, err = os.ReadFile(*def); err != nil {
			return c.fail(badInput("read definition: %v", err))
		}
		name = *def
	}
	chart, err := mermaid(raw)
	if err != nil {
		return c.fail(badInput("%s: %v", name, err))
	}
	if *md {
		chart = "```mermaid\n" + chart + "```\n"
	}
	fmt.Fprint(stdout, chart)
	return exitOK
}

// aslMachine is the part of an ASL definition the chart needs.
type aslMachine struct {
	StartAt string              `json:"StartAt"`
	States  map[string]aslState `json:"States"`
	order   []string            // state names as the definition lists them
}

type aslState struct {
	Type     string           `json:"Type"`
	Resource string           `json:"Resource"`
	Next     string           `json:"Next"`
	End      bool             `json:"End"`
	Default  string           `json:"Default"`
	Choices  []map[string]any `json:"Choices"`
	Catch    []struct {
		ErrorEquals []string `json:"ErrorEquals"`
		Next        string   `json:"Next"`
	} `json:"Catch"`
	Branches      []aslMachine `json:"Branches"`
	Iterator      *aslMachine  `json:"Iterator"`
	ItemProcessor *aslMachine  `json:"ItemProcessor"`
}

// mermaid renders a definition as a Mermaid flowchart.
func mermaid(def []byte) (string, error) {
	var m aslMachine
	if err := json.Unmarshal(def, &m); err != nil {
		return "", fmt.Errorf("not an ASL definition: %w", err)
	}
	g := &chart{ids: map[string]string{}, used: map[string]bool{"start": true, "finish": true}, classes: map[string][]string{}}
	if err := g.machine("", m, "    "); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	b.WriteString("    start((start))\n")
	for _, l := range g.nodes {
		b.WriteString(l + "\n")
	}
	if g.needEnd {
		b.WriteString("    finish((end))\n")
	}
	b.WriteString("    start --> " + g.ids[m.StartAt] + "\n")
	for _, l := range g.edges {
		b.WriteString(l + "\n")
	}
	styles := []struct{ class, style string }{
		{"choice", "fill:#fff4d6,stroke:#b8860b"},
		{"wait", "fill:#e6f0ff,stroke:#1a56db"},
		{"succeed", "fill:#e3f6e5,stroke:#2e7d32"},
		{"fail", "fill:#fde2e1,stroke:#c62828"},
	}
	for _, s := range styles {
		if ids := g.classes[s.class]; len(ids) > 0 {
			fmt.Fprintf(&b, "    classDef %s %s\n", s.class, s.style)
			fmt.Fprintf(&b, "    class %s %s\n", strings.Join(ids, ","), s.class)
		}
	}
	return b.String(), nil
}

type chart struct {
	ids     map[string]string // prefix+state name -> node id
	used    map[string]bool
	nodes   []string
	edges   []string
	classes map[string][]string
	needEnd bool
}

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

func (g *chart) id(key string) string {
	if id, ok := g.ids[key]; ok {
		return id
	}
	base := idUnsafe.ReplaceAllString(key, "_")
	// Mermaid reads a leading "end" as the keyword and a leading digit badly.
	if base == "" || (base[0] >= '0' && base[0] <= '9') || strings.HasPrefix(strings.ToLower(base), "end") {
		base = "s_" + base
	}
	id := base
	for n := 2; g.used[id] || mermaidKeywords[strings.ToLower(id)]; n++ {
		id = fmt.Sprintf("%s_%d", base, n)
	}
	g.used[id] = true
	g.ids[key] = id
	return id
}

// mermaidKeywords cannot be node ids.
var mermaidKeywords = map[string]bool{"end": true, "subgraph": true, "graph": true, "flowchart": true, "style": true, "class": true, "classdef": true, "click": true, "linkstyle": true, "direction": true}

// UnmarshalJSON keeps the order in which the definition lists its states:
// the chart follows the author's order, which reads better than any sort.
func (m *aslMachine) UnmarshalJSON(b []byte) error {
	var p struct {
		StartAt string          `json:"StartAt"`
		States  json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if len(p.States) == 0 {
		return errors.New("no States")
	}
	m.StartAt, m.States, m.order = p.StartAt, nil, nil
	if err := json.Unmarshal(p.States, &m.States); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(p.States))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
		if name, ok := t.(string); ok && !slices.Contains(m.order, name) {
			m.order = append(m.order, name)
		}
	}
	return nil
}

func (g *chart) machine(prefix string, m aslMachine, indent string) error {
	if _, ok := m.States[m.StartAt]; !ok {
		return fmt.Errorf("StartAt %q is not a state", m.StartAt)
	}
	names := m.order
	for _, n := range names {
		g.id(prefix + n)
	}
	ref := func(from, to string) (string, error) {
		if _, ok := m.States[to]; !ok {
			return "", fmt.Errorf("state %s: next state %q does not exist", from, to)
		}
		return g.ids[prefix+to], nil
	}
	for _, n := range names {
		st := m.States[n]
		id := g.ids[prefix+n]
		label := n
		shape := `["%s"]`
		switch st.Type {
		case "Choice":
			shape = `{"%s"}`
			g.classes["choice"] = append(g.classes["choice"], id)
		case "Pass":
			shape = `[/"%s"/]`
		case "Wait":
			shape = `>"%s"]`
			g.classes["wait"] = append(g.classes["wait"], id)
		case "Succeed":
			shape = `(["%s"])`
			g.classes["succeed"] = append(g.classes["succeed"], id)
		case "Fail":
			shape = `(["%s"])`
			g.classes["fail"] = append(g.classes["fail"], id)
		case "Parallel", "Map":
			shape = `[["%s"]]`
			label += " (" + st.Type + ")"
		case "Task":
			if strings.HasSuffix(st.Resource, ".waitForTaskToken") {
				label += "<br/>waits for a task token"
				g.classes["wait"] = append(g.classes["wait"], id)
			}
		}
		g.nodes = append(g.nodes, indent+id+fmt.Sprintf(shape, escapeLabel(label)))
		for i, c := range st.Choices {
			next, _ := c["Next"].(string)
			to, err := ref(n, next)
			if err != nil {
				return fmt.Errorf("state %s, choice %d: %w", n, i+1, err)
			}
			g.edges = append(g.edges, fmt.Sprintf("    %s -->|\"%s\"| %s", id, escapeLabel(condition(c)), to))
		}
		if st.Default != "" {
			to, err := ref(n, st.Default)
			if err != nil {
				return err
			}
			g.edges = append(g.edges, fmt.Sprintf("    %s -->|\"default\"| %s", id, to))
		}
		if st.Next != "" {
			to, err := ref(n, st.Next)
			if err != nil {
				return err
			}
			g.edges = append(g.edges, fmt.Sprintf("    %s --> %s", id, to))
		}
		if st.End && prefix == "" { // a branch's end is not the machine's
			g.needEnd = true
			g.edges = append(g.edges, fmt.Sprintf("    %s --> finish", id))
		}
		for _, c := range st.Catch {
			to, err := ref(n, c.Next)
			if err != nil {
				return err
			}
			g.edges = append(g.edges, fmt.Sprintf("    %s -.->|\"%s\"| %s", id, escapeLabel(strings.Join(c.ErrorEquals, ", ")), to))
		}
		var subs []aslMachine
		subs = append(subs, st.Branches...)
		if st.ItemProcessor != nil {
			subs = append(subs, *st.ItemProcessor)
		} else if st.Iterator != nil {
			subs = append(subs, *st.Iterator)
		}
		for i, sub := range subs {
			p := fmt.Sprintf("%s%s/%d/", prefix, n, i+1)
			sg := g.id(p)
			title := "branch " + fmt.Sprint(i+1)
			if st.Type == "Map" {
				title = "each item"
			}
			g.nodes = append(g.nodes, fmt.Sprintf("%ssubgraph %s [\"%s: %s\"]", indent, sg, escapeLabel(n), title))
			if err := g.machine(p, sub, indent+"    "); err != nil {
				return fmt.Errorf("state %s: %w", n, err)
			}
			g.nodes = append(g.nodes, indent+"end")
			g.edges = append(g.edges, fmt.Sprintf("    %s -.-> %s", id, g.ids[p+sub.StartAt]))
		}
	}
	return nil
}

// comparisons maps ASL comparison operators to short symbols.
var comparisons = map[string]string{
	"StringEquals": "=", "StringLessThan": "<", "StringGreaterThan": ">", "StringLessThanEquals": "<=", "StringGreaterThanEquals": ">=",
	"StringMatches": "matches", "NumericEquals": "=", "NumericLessThan": "<", "NumericGreaterThan": ">",
	"NumericLessThanEquals": "<=", "NumericGreaterThanEquals": ">=", "BooleanEquals": "=", "TimestampEquals": "=",
	"TimestampLessThan": "<", "TimestampGreaterThan": ">", "TimestampLessThanEquals": "<=", "TimestampGreaterThanEquals": ">=",
	"IsNull": "is null", "IsPresent": "is present", "IsNumeric": "is numeric", "IsString": "is string",
	"IsBoolean": "is boolean", "IsTimestamp": "is timestamp",
}

// condition renders a Choice rule: "plan.Payload.action = skip".
func condition(r map[string]any) string {
	if subs, ok := r["And"].([]any); ok {
		return joinRules(subs, " AND ")
	}
	if subs, ok := r["Or"].([]any); ok {
		return joinRules(subs, " OR ")
	}
	if sub, ok := r["Not"].(map[string]any); ok {
		return "NOT (" + condition(sub) + ")"
	}
	if cond, ok := r["Condition"].(string); ok { // JSONata
		return cond
	}
	v, _ := r["Variable"].(string)
	v = strings.TrimPrefix(v, "$.")
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		op, path := k, false
		if strings.HasSuffix(k, "Path") && k != "Path" {
			op, path = strings.TrimSuffix(k, "Path"), true
		}
		sym, ok := comparisons[op]
		if !ok {
			continue
		}
		if strings.HasPrefix(op, "Is") {
			if b, _ := r[k].(bool); !b {
				return v + " " + strings.Replace(sym, "is ", "is not ", 1)
			}
			return v + " " + sym
		}
		val := fmt.Sprint(r[k])
		if s, ok := r[k].(string); ok && path {
			val = strings.TrimPrefix(s, "$.")
		}
		return v + " " + sym + " " + val
	}
	return v
}

func joinRules(subs []any, sep string) string {
	var parts []string
	for _, s := range subs {
		if m, ok := s.(map[string]any); ok {
			c := condition(m)
			if _, nested := m["And"]; nested {
				c = "(" + c + ")"
			} else if _, nested := m["Or"]; nested {
				c = "(" + c + ")"
			}
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, sep)
}

// escapeLabel keeps a label inside Mermaid's double quotes.
func escapeLabel(s string) string {
	return strings.NewReplacer(`"`, "#quot;").Replace(s)
}
