package states

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"
)

// Machine is a parsed, checked definition ready to run.
type Machine struct {
	definition     json.RawMessage
	comment        string
	timeoutSeconds int64
	root           *machineDef
}

// Definition returns the JSON the machine was parsed from.
func (m *Machine) Definition() json.RawMessage { return m.definition }

// Comment returns the definition's top-level Comment.
func (m *Machine) Comment() string { return m.comment }

// machineDef is a set of states with a start: the machine itself, a
// Parallel branch or a Map's item processor.
type machineDef struct {
	startAt string
	states  map[string]*state
	order   []string // as written, for stable problem messages
}

// state is one parsed state; which fields are used depends on typ.
type state struct {
	name string
	typ  string
	next string
	end  bool

	inputPath      *optPath
	outputPath     *optPath
	parameters     *template
	resultSelector *template
	resultPath     *resultPath

	// Pass
	result    any
	hasResult bool

	// Task
	resource         string
	timeoutSeconds   int64
	timeoutPath      *jsonPath
	heartbeatSeconds int64
	heartbeatPath    *jsonPath

	// Task, Parallel, Map
	retry []*retrier
	catch []*catcher

	// Choice
	choices     []*choiceRule
	defaultNext string

	// Wait
	waitSeconds       *int64
	waitTimestamp     *time.Time
	waitSecondsPath   *jsonPath
	waitTimestampPath *jsonPath

	// Fail
	errorName, cause     string
	errorExpr, causeExpr *valueExpr

	// Parallel
	branches []*machineDef

	// Map
	processor          *machineDef
	itemsPath          *jsonPath
	itemSelector       *template
	maxConcurrency     int64
	maxConcurrencyPath *jsonPath
	tolerance          *tolerance
}

// tolerance is a Map state's ToleratedFailureCount/Percentage.
type tolerance struct {
	count     *int64
	countPath *jsonPath
	pct       *float64
	pctPath   *jsonPath
}

// valueExpr is a Path or an intrinsic function (Fail's ErrorPath/CausePath).
type valueExpr struct {
	path *jsonPath
	fn   *intrinsic
}

func (v *valueExpr) eval(data any, ctx *contextObj) (any, *failure) {
	if v.fn != nil {
		return v.fn.eval(data, ctx)
	}
	out, err := v.path.eval(data, ctx.value())
	if err != nil {
		return nil, failf(ErrRuntime, "%v", err)
	}
	return out, nil
}

// Parse checks a definition (JSONPath query language) and returns it ready to
// run, or a *DefinitionError listing every problem.
func Parse(definition []byte) (*Machine, error) {
	if dups := duplicateKeys(definition); len(dups) > 0 {
		return nil, &DefinitionError{Problems: dups}
	}
	raw, err := decodeJSON(definition)
	if err != nil {
		return nil, &DefinitionError{Problems: []string{"definition is not valid JSON: " + err.Error()}}
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, &DefinitionError{Problems: []string{"definition must be a JSON object"}}
	}
	c := &checker{names: map[string]string{}}
	m := &Machine{definition: append(json.RawMessage(nil), definition...)}
	c.fields(top, "definition", "StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage")
	if ql, ok := top["QueryLanguage"]; ok && ql != "JSONPath" {
		c.addf("definition: QueryLanguage %s is not supported (only \"JSONPath\")", mustJSON(ql))
	}
	m.comment = c.optString(top, "Comment", "definition")
	c.optString(top, "Version", "definition")
	if _, ok := top["TimeoutSeconds"]; ok {
		m.timeoutSeconds = c.positiveInt(top, "TimeoutSeconds", "definition")
	}
	m.root = c.machine(top, "definition")
	if len(c.problems) > 0 {
		return nil, &DefinitionError{Problems: c.problems}
	}
	return m, nil
}

// machine builds a set of states (the top level, a branch, an iterator).
func (c *checker) machine(obj map[string]any, where string) *machineDef {
	def := &machineDef{states: map[string]*state{}}
	def.startAt = c.reqString(obj, "StartAt", where)
	rawStates, ok := obj["States"]
	if !ok {
		c.addf("%s: missing required field States", where)
		return def
	}
	states, ok := rawStates.(map[string]any)
	if !ok {
		c.addf("%s: States must be an object, not %s", where, typeName(rawStates))
		return def
	}
	if len(states) == 0 {
		c.addf("%s: States must not be empty", where)
	}
	for _, name := range sortedKeys(states) {
		sw := fmt.Sprintf("state %q", name)
		if prev, dup := c.names[name]; dup {
			c.addf("%s: state name is already used in %s; names must be unique in the whole machine", sw, prev)
		}
		c.names[name] = where
		if len(name) > 80 {
			c.addf("%s: state names must be at most 80 characters", sw)
		}
		so, ok := states[name].(map[string]any)
		if !ok {
			c.addf("%s: must be an object", sw)
			continue
		}
		st := c.state(name, so, sw)
		def.states[name] = st
		def.order = append(def.order, name)
	}
	if def.startAt != "" {
		if _, ok := def.states[def.startAt]; !ok && len(def.states) > 0 {
			c.addf("%s: StartAt %q is not a state of this machine", where, def.startAt)
		}
	}
	c.transitions(def, where)
	return def
}

var stateFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
	"Choice":   {"Choices", "Default", "InputPath", "OutputPath"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Branches"},
	"Map": {"Next", "End", "InputPath", "OutputPath", "ItemsPath", "ItemSelector", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch",
		"Iterator", "ItemProcessor", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount", "ToleratedFailureCountPath",
		"ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label"},
}

func (c *checker) state(name string, obj map[string]any, where string) *state {
	st := &state{name: name}
	typ, ok := obj["Type"].(string)
	allowed, known := stateFields[typ]
	if !ok || !known {
		c.addf("%s: Type must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map, not %s", where, mustJSON(obj["Type"]))
		return st
	}
	st.typ = typ
	c.fields(obj, where, append([]string{"Type", "Comment", "QueryLanguage"}, allowed...)...)
	if ql, ok := obj["QueryLanguage"]; ok && ql != "JSONPath" {
		c.addf("%s: QueryLanguage %s is not supported (only \"JSONPath\")", where, mustJSON(ql))
	}
	c.optString(obj, "Comment", where)

	// Next / End for states that continue.
	switch typ {
	case "Pass", "Task", "Wait", "Parallel", "Map":
		_, hasNext := obj["Next"]
		endV, hasEnd := obj["End"]
		if hasNext {
			st.next = c.reqString(obj, "Next", where)
		}
		if hasEnd {
			if b, ok := endV.(bool); !ok || !b {
				c.addf("%s: End must be true when present", where)
			} else {
				st.end = true
			}
		}
		switch {
		case hasNext && st.end:
			c.addf("%s: must not have both Next and End", where)
		case !hasNext && !st.end:
			c.addf("%s: must have Next or \"End\": true", where)
		}
	}

	if typ != "Fail" {
		st.inputPath = c.optPathField(obj, "InputPath", where)
		st.outputPath = c.optPathField(obj, "OutputPath", where)
	}
	switch typ {
	case "Pass", "Task", "Parallel", "Map":
		st.resultPath = c.resultPathField(obj, where)
		st.parameters = c.templateField(obj, "Parameters", where)
	}
	switch typ {
	case "Task", "Parallel", "Map":
		st.resultSelector = c.templateField(obj, "ResultSelector", where)
		st.retry = c.retriers(obj, where)
		st.catch = c.catchers(obj, where)
	}

	switch typ {
	case "Pass":
		st.result, st.hasResult = obj["Result"]
	case "Task":
		c.task(st, obj, where)
	case "Choice":
		c.choice(st, obj, where)
	case "Wait":
		c.wait(st, obj, where)
	case "Fail":
		c.fail(st, obj, where)
	case "Parallel":
		c.parallel(st, obj, where)
	case "Map":
		c.mapState(st, obj, where)
	}
	return st
}

// resourceARN is what asl-validator accepts as a Task Resource: an ARN, or
// a ${...} placeholder left for DefinitionSubstitutions.
var resourceARN = regexp.MustCompile(`^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[a-zA-Z0-9_.:$-]+$|\$\{.*\}`)

func (c *checker) task(st *state, obj map[string]any, where string) {
	st.resource = c.reqString(obj, "Resource", where)
	if st.resource != "" && !resourceARN.MatchString(st.resource) {
		c.addf("%s: Resource %q must be an ARN (or a ${...} substitution)", where, st.resource)
	}
	_, hasT := obj["TimeoutSeconds"]
	_, hasTP := obj["TimeoutSecondsPath"]
	_, hasH := obj["HeartbeatSeconds"]
	_, hasHP := obj["HeartbeatSecondsPath"]
	if hasT && hasTP {
		c.addf("%s: must not have both TimeoutSeconds and TimeoutSecondsPath", where)
	}
	if hasH && hasHP {
		c.addf("%s: must not have both HeartbeatSeconds and HeartbeatSecondsPath", where)
	}
	if hasT {
		st.timeoutSeconds = c.positiveInt(obj, "TimeoutSeconds", where)
	}
	if hasH {
		st.heartbeatSeconds = c.positiveInt(obj, "HeartbeatSeconds", where)
	}
	st.timeoutPath = c.pathField(obj, "TimeoutSecondsPath", where, true)
	st.heartbeatPath = c.pathField(obj, "HeartbeatSecondsPath", where, true)
	if hasT && hasH && st.heartbeatSeconds >= st.timeoutSeconds && st.timeoutSeconds > 0 {
		c.addf("%s: HeartbeatSeconds (%d) must be smaller than TimeoutSeconds (%d)", where, st.heartbeatSeconds, st.timeoutSeconds)
	}
	if v, ok := obj["Credentials"]; ok {
		if _, ok := v.(map[string]any); !ok {
			c.addf("%s: Credentials must be an object", where)
		}
	}
}

func (c *checker) wait(st *state, obj map[string]any, where string) {
	n := 0
	for _, k := range []string{"Seconds", "Timestamp", "SecondsPath", "TimestampPath"} {
		if _, ok := obj[k]; ok {
			n++
		}
	}
	if n != 1 {
		c.addf("%s: must have exactly one of Seconds, Timestamp, SecondsPath, TimestampPath", where)
	}
	if _, ok := obj["Seconds"]; ok {
		s := c.integer(obj, "Seconds", where, 0)
		st.waitSeconds = &s
	}
	if v, ok := obj["Timestamp"]; ok {
		s, _ := v.(string)
		t, err := parseTimestamp(s)
		if err != nil {
			c.addf("%s: Timestamp %s is not an RFC 3339 timestamp", where, mustJSON(v))
		}
		st.waitTimestamp = &t
	}
	st.waitSecondsPath = c.pathField(obj, "SecondsPath", where, true)
	st.waitTimestampPath = c.pathField(obj, "TimestampPath", where, true)
}

func (c *checker) fail(st *state, obj map[string]any, where string) {
	for _, pair := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
		_, a := obj[pair[0]]
		_, b := obj[pair[1]]
		if a && b {
			c.addf("%s: must not have both %s and %s", where, pair[0], pair[1])
		}
	}
	st.errorName = c.optString(obj, "Error", where)
	st.cause = c.optString(obj, "Cause", where)
	st.errorExpr = c.valueExprField(obj, "ErrorPath", where)
	st.causeExpr = c.valueExprField(obj, "CausePath", where)
}

func (c *checker) valueExprField(obj map[string]any, key, where string) *valueExpr {
	v, ok := obj[key]
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		c.addf("%s: %s must be a string", where, key)
		return nil
	}
	if isIntrinsic(s) {
		fn, err := parseIntrinsic(s)
		if err != nil {
			c.addf("%s: %s: %v", where, key, err)
			return nil
		}
		return &valueExpr{fn: fn}
	}
	p := c.pathField(obj, key, where, true)
	if p == nil {
		return nil
	}
	return &valueExpr{path: p}
}

func (c *checker) parallel(st *state, obj map[string]any, where string) {
	v, ok := obj["Branches"]
	if !ok {
		c.addf("%s: missing required field Branches", where)
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		c.addf("%s: Branches must be a non-empty array", where)
		return
	}
	for i, b := range arr {
		bw := fmt.Sprintf("%s branch %d", where, i)
		bo, ok := b.(map[string]any)
		if !ok {
			c.addf("%s: must be an object", bw)
			continue
		}
		c.fields(bo, bw, "StartAt", "States", "Comment")
		st.branches = append(st.branches, c.machine(bo, bw))
	}
}

func (c *checker) mapState(st *state, obj map[string]any, where string) {
	_, hasIt := obj["Iterator"]
	_, hasIP := obj["ItemProcessor"]
	switch {
	case hasIt && hasIP:
		c.addf("%s: must not have both Iterator and ItemProcessor", where)
	case !hasIt && !hasIP:
		c.addf("%s: missing required field ItemProcessor (or Iterator)", where)
	}
	key := "ItemProcessor"
	if hasIt {
		key = "Iterator"
	}
	if po, ok := obj[key].(map[string]any); ok {
		pw := where + " " + key
		allowed := []string{"StartAt", "States", "Comment"}
		if key == "ItemProcessor" {
			allowed = append(allowed, "ProcessorConfig")
			if pc, ok := po["ProcessorConfig"]; ok {
				pco, ok := pc.(map[string]any)
				if !ok {
					c.addf("%s: ProcessorConfig must be an object", pw)
				} else {
					c.fields(pco, pw+".ProcessorConfig", "Mode", "ExecutionType")
					if m, ok := pco["Mode"]; ok && m != "INLINE" {
						c.addf("%s: ProcessorConfig.Mode %s is not supported (only INLINE)", pw, mustJSON(m))
					}
				}
			}
		}
		c.fields(po, pw, allowed...)
		st.processor = c.machine(po, pw)
	} else if hasIt || hasIP {
		c.addf("%s: %s must be an object", where, key)
	}
	st.itemsPath = c.pathField(obj, "ItemsPath", where, true)
	if _, ok := obj["ItemSelector"]; ok {
		if _, ok := obj["Parameters"]; ok {
			c.addf("%s: must not have both ItemSelector and Parameters", where)
		}
		st.itemSelector = c.templateField(obj, "ItemSelector", where)
	} else {
		// Parameters on a Map is the legacy name of ItemSelector.
		st.itemSelector, st.parameters = st.parameters, nil
	}
	if _, ok := obj["MaxConcurrency"]; ok {
		if _, ok := obj["MaxConcurrencyPath"]; ok {
			c.addf("%s: must not have both MaxConcurrency and MaxConcurrencyPath", where)
		}
		st.maxConcurrency = c.integer(obj, "MaxConcurrency", where, 0)
	}
	st.maxConcurrencyPath = c.pathField(obj, "MaxConcurrencyPath", where, true)
	c.optString(obj, "Label", where)

	tol := &tolerance{}
	has := false
	if _, ok := obj["ToleratedFailureCount"]; ok {
		n := c.integer(obj, "ToleratedFailureCount", where, 0)
		tol.count, has = &n, true
	}
	if _, ok := obj["ToleratedFailurePercentage"]; ok {
		v := obj["ToleratedFailurePercentage"]
		r, ok := toRat(v)
		if !ok {
			c.addf("%s: ToleratedFailurePercentage must be a number", where)
		} else {
			f, _ := r.Float64()
			if f < 0 || f > 100 {
				c.addf("%s: ToleratedFailurePercentage must be between 0 and 100", where)
			}
			tol.pct, has = &f, true
		}
	}
	if p := c.pathField(obj, "ToleratedFailureCountPath", where, true); p != nil {
		tol.countPath, has = p, true
		if tol.count != nil {
			c.addf("%s: must not have both ToleratedFailureCount and ToleratedFailureCountPath", where)
		}
	}
	if p := c.pathField(obj, "ToleratedFailurePercentagePath", where, true); p != nil {
		tol.pctPath, has = p, true
		if tol.pct != nil {
			c.addf("%s: must not have both ToleratedFailurePercentage and ToleratedFailurePercentagePath", where)
		}
	}
	if has {
		st.tolerance = tol
	}
}

// parseTimestamp reads the RFC 3339 timestamps the States Language uses.
func parseTimestamp(s string) (time.Time, error) {
	return time.Parse(time.RFC3339Nano, s)
}
