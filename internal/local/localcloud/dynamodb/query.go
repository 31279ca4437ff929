package dynamodb

import (
	"context"
	"hash/fnv"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type readInput struct {
	legacy
	TableName                 string
	IndexName                 string
	KeyConditionExpression    string
	FilterExpression          string
	ProjectionExpression      string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]Value
	ScanIndexForward          *bool
	Limit                     *int
	ExclusiveStartKey         Item
	ConsistentRead            bool
	Select                    string
	Segment                   *int
	TotalSegments             *int
	ReturnConsumedCapacity    string
}

// keyCond is a parsed KeyConditionExpression.
type keyCond struct {
	hash Value
	rng  cond // nil, or a condition on the range key alone
}

func (s *Service) keyCondition(v view, c cond) (*keyCond, error) {
	ks := v.keys()
	bad := func(format string, args ...any) error {
		return awsproto.Validation(format, args...)
	}
	var parts []cond
	var flatten func(c cond) error
	flatten = func(c cond) error {
		switch x := c.(type) {
		case andCond:
			if err := flatten(x.a); err != nil {
				return err
			}
			return flatten(x.b)
		case orCond:
			return bad("Invalid operator used in KeyConditionExpression: OR")
		case notCond:
			return bad("Invalid operator used in KeyConditionExpression: NOT")
		case inCond:
			return bad("Invalid operator used in KeyConditionExpression: IN")
		}
		parts = append(parts, c)
		return nil
	}
	if err := flatten(c); err != nil {
		return nil, err
	}
	// attr names the key attribute a part constrains and checks its shape.
	attr := func(c cond) (string, error) {
		var p operand
		var vals []operand
		switch x := c.(type) {
		case cmpCond:
			if x.op == "<>" {
				return "", bad("Unsupported operator on KeyConditionExpression: operator: <>")
			}
			p, vals = x.a, []operand{x.b}
		case betweenCond:
			p, vals = x.v, []operand{x.lo, x.hi}
		case funcCond:
			if x.name != "begins_with" {
				return "", bad("Invalid operator used in KeyConditionExpression: %s", x.name)
			}
			p, vals = pathOp{path: x.path}, []operand{x.arg}
		default:
			return "", bad("Invalid KeyConditionExpression")
		}
		po, ok := p.(pathOp)
		if !ok || len(po.path) != 1 {
			return "", bad("Invalid KeyConditionExpression: the left side of a key condition must be a key attribute name")
		}
		for _, v := range vals {
			if _, ok := v.(valueOp); !ok {
				return "", bad("Invalid KeyConditionExpression: key conditions compare with expression attribute values only")
			}
		}
		return po.path[0].name, nil
	}
	kc := &keyCond{}
	seenHash := false
	for _, p := range parts {
		name, err := attr(p)
		if err != nil {
			return nil, err
		}
		switch {
		case name == ks.hash:
			cmp, ok := p.(cmpCond)
			if !ok || cmp.op != "=" || seenHash {
				return nil, bad("Query key condition not supported")
			}
			seenHash = true
			kc.hash = cmp.b.(valueOp).v
		case name == ks.rng && ks.rng != "":
			if kc.rng != nil {
				return nil, bad("KeyConditionExpressions must only contain one condition per key")
			}
			kc.rng = p
			if err := checkKeyTypes(v.t.attrTypes[ks.rng], p); err != nil {
				return nil, err
			}
		default:
			return nil, bad("Query condition missed key schema element: %s", ks.hash)
		}
	}
	if !seenHash {
		return nil, bad("Query condition missed key schema element: %s", ks.hash)
	}
	if kc.hash.Kind != v.t.attrTypes[ks.hash] {
		return nil, bad("One or more parameter values were invalid: Condition parameter type does not match schema type")
	}
	return kc, nil
}

func checkKeyTypes(want Kind, c cond) error {
	var vals []operand
	switch x := c.(type) {
	case cmpCond:
		vals = []operand{x.b}
	case betweenCond:
		vals = []operand{x.lo, x.hi}
	case funcCond:
		vals = []operand{x.arg}
	}
	for _, o := range vals {
		if o.(valueOp).v.Kind != want {
			return awsproto.Validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
		}
	}
	return nil
}

// condPaths lists the top-level attribute names a condition reads.
func condPaths(c cond, out map[string]bool) {
	addOp := func(o operand) {
		switch x := o.(type) {
		case pathOp:
			out[x.path[0].name] = true
		case sizeOp:
			out[x.path[0].name] = true
		}
	}
	switch x := c.(type) {
	case andCond:
		condPaths(x.a, out)
		condPaths(x.b, out)
	case orCond:
		condPaths(x.a, out)
		condPaths(x.b, out)
	case notCond:
		condPaths(x.c, out)
	case cmpCond:
		addOp(x.a)
		addOp(x.b)
	case betweenCond:
		addOp(x.v)
		addOp(x.lo)
		addOp(x.hi)
	case inCond:
		addOp(x.v)
		for _, o := range x.list {
			addOp(o)
		}
	case funcCond:
		out[x.path[0].name] = true
		if x.arg != nil {
			addOp(x.arg)
		}
	}
}

// read serves Query (query true) and Scan.
func (s *Service) read(ctx context.Context, in *readInput, query bool) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	if in.IndexName != "" {
		awsproto.Note(ctx, "index", in.IndexName)
	}
	if err := in.legacy.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	v := view{t: t}
	if in.IndexName != "" {
		ix, ok := t.indexes[in.IndexName]
		if !ok {
			return nil, awsproto.Validation("The table does not have the specified index: %s", in.IndexName)
		}
		if ix.global && in.ConsistentRead {
			return nil, awsproto.Validation("Consistent reads are not supported on global secondary indexes")
		}
		v.ix = ix
	}
	if in.Limit != nil && *in.Limit < 1 {
		return nil, awsproto.Validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit)
	}
	switch in.Select {
	case "", "ALL_ATTRIBUTES", "COUNT":
		if in.ProjectionExpression != "" && in.Select != "" {
			return nil, awsproto.Validation("Cannot specify the ProjectionExpression when choosing to get %s", in.Select)
		}
	case "SPECIFIC_ATTRIBUTES":
		if in.ProjectionExpression == "" {
			return nil, awsproto.Validation("SPECIFIC_ATTRIBUTES requires a ProjectionExpression")
		}
	case "ALL_PROJECTED_ATTRIBUTES":
		if v.ix == nil {
			return nil, awsproto.Validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
		}
	default:
		return nil, awsproto.Validation("Select %q is not valid", in.Select)
	}
	if in.Select == "ALL_ATTRIBUTES" && v.ix != nil && v.ix.projection != "ALL" {
		return nil, awsproto.Validation("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index %s because its projection type is not ALL", v.ix.name)
	}
	sub, err := newSubst(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	var kc *keyCond
	if query {
		if in.KeyConditionExpression == "" {
			return nil, awsproto.Validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		}
		c, err := parseCondition("KeyConditionExpression", in.KeyConditionExpression, sub)
		if err != nil {
			return nil, err
		}
		if kc, err = s.keyCondition(v, c); err != nil {
			return nil, err
		}
	} else if in.KeyConditionExpression != "" {
		return nil, awsproto.Validation("KeyConditionExpression is not valid for Scan")
	}
	var filter cond
	if in.FilterExpression != "" {
		if filter, err = parseCondition("FilterExpression", in.FilterExpression, sub); err != nil {
			return nil, err
		}
		if query {
			read := map[string]bool{}
			condPaths(filter, read)
			for _, a := range v.keys().attrs() {
				if read[a] {
					return nil, awsproto.Validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s", a)
				}
			}
		}
	}
	var proj []docPath
	if in.ProjectionExpression != "" {
		if proj, err = parseProjection(in.ProjectionExpression, sub); err != nil {
			return nil, err
		}
	}
	if err := sub.checkUnused(); err != nil {
		return nil, err
	}
	if (in.Segment == nil) != (in.TotalSegments == nil) {
		return nil, awsproto.Validation("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
	}
	if in.TotalSegments != nil && (*in.TotalSegments < 1 || *in.TotalSegments > 1000000 || *in.Segment < 0 || *in.Segment >= *in.TotalSegments) {
		return nil, awsproto.Validation("The Segment parameter is zero-based and must be less than parameter TotalSegments")
	}
	if in.ExclusiveStartKey != nil {
		for _, a := range append(t.keys.attrs(), v.keys().attrs()...) {
			if _, ok := in.ExclusiveStartKey[a]; !ok {
				return nil, awsproto.Validation("The provided starting key is invalid: The provided key element does not match the schema")
			}
		}
	}

	forward := in.ScanIndexForward == nil || *in.ScanIndexForward
	var candidates []Item
	if query {
		candidates = v.items(now, &kc.hash)
		if !forward {
			for i, j := 0, len(candidates)-1; i < j; i, j = i+1, j-1 {
				candidates[i], candidates[j] = candidates[j], candidates[i]
			}
		}
	} else {
		forward = true
		candidates = v.items(now, nil)
	}
	items := []Item{}
	scanned := 0
	var last Item
	for _, it := range candidates {
		if kc != nil && kc.rng != nil && !evalCond(it, kc.rng) {
			continue
		}
		if in.TotalSegments != nil && segmentOf(it[v.keys().hash], *in.TotalSegments) != *in.Segment {
			continue
		}
		if in.ExclusiveStartKey != nil && !v.after(it, in.ExclusiveStartKey, !query, forward) {
			continue
		}
		scanned++
		if filter == nil || evalCond(it, filter) {
			out := v.projected(it)
			if proj != nil {
				out = project(out, proj)
			}
			items = append(items, out)
		}
		// As on AWS, reaching Limit returns a LastEvaluatedKey even when
		// no item follows: the next page is then empty.
		if in.Limit != nil && scanned == *in.Limit {
			last = v.lastKey(it)
			break
		}
	}
	out := map[string]any{"Count": len(items), "ScannedCount": scanned}
	if in.Select != "COUNT" {
		out["Items"] = items
	}
	if last != nil {
		out["LastEvaluatedKey"] = last
	}
	addCapacity(out, in.ReturnConsumedCapacity, t.name, float64(scanned+1)/2)
	awsproto.Note(ctx, "count", itoa(len(items)))
	return out, nil
}

func segmentOf(hash Value, total int) int {
	h := fnv.New32a()
	h.Write([]byte(encodeKey(hash)))
	return int(h.Sum32() % uint32(total))
}

func (s *Service) query(ctx context.Context, in *readInput) (any, error) {
	return s.read(ctx, in, true)
}
func (s *Service) scan(ctx context.Context, in *readInput) (any, error) {
	return s.read(ctx, in, false)
}
