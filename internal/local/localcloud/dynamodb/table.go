package dynamodb

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// keySchema names an index's (or the table's) key attributes.
type keySchema struct {
	hash, rng string
}

func (k keySchema) attrs() []string {
	if k.rng == "" {
		return []string{k.hash}
	}
	return []string{k.hash, k.rng}
}

func (k keySchema) wire() []map[string]string {
	out := []map[string]string{{"AttributeName": k.hash, "KeyType": "HASH"}}
	if k.rng != "" {
		out = append(out, map[string]string{"AttributeName": k.rng, "KeyType": "RANGE"})
	}
	return out
}

type index struct {
	name       string
	global     bool
	keys       keySchema
	projection string // ALL, KEYS_ONLY, INCLUDE
	nonKey     []string
	throughput map[string]any
}

type table struct {
	name, arn, id string
	created       time.Time
	keys          keySchema
	attrTypes     map[string]Kind // AttributeDefinitions
	indexes       map[string]*index
	billing       string
	throughput    map[string]any
	protected     bool
	ttlAttr       string
	ttlEnabled    bool
	sseType       string // "" when SSE was not asked for
	pitr          bool
	items         map[string]Item // by primary key
}

// pk is the map key of an item's primary key.
func (t *table) pk(it Item) string {
	s := encodeKey(it[t.keys.hash])
	if t.keys.rng != "" {
		s += "\x00" + encodeKey(it[t.keys.rng])
	}
	return s
}

// expired reports whether TTL has removed the item: the TTL attribute is a
// number of epoch seconds not after now (and less than five years before). Expired items are gone for every
// read and write, which is what the product's retention relies on.
func (t *table) expired(it Item, now time.Time) bool {
	if !t.ttlEnabled || it == nil {
		return false
	}
	v, ok := it[t.ttlAttr]
	if !ok || v.Kind != KindN {
		return false
	}
	exp, ok := new(big.Rat).SetString(v.S)
	if !ok {
		return false
	}
	// AWS never deletes items whose expiry is more than five years past
	// (a value in the wrong unit, say), so neither does the local cloud.
	return exp.Cmp(new(big.Rat).SetInt64(now.Unix())) <= 0 &&
		exp.Cmp(new(big.Rat).SetInt64(now.AddDate(-5, 0, 0).Unix())) > 0
}

// get returns the live item with key k, dropping it if it has expired.
func (t *table) get(k string, now time.Time) Item {
	it, ok := t.items[k]
	if !ok {
		return nil
	}
	if t.expired(it, now) {
		delete(t.items, k)
		return nil
	}
	return it
}

// checkKey validates a Key parameter: exactly the key attributes, with the
// defined types.
func (t *table) checkKey(key Item) error {
	if len(key) != len(t.keys.attrs()) {
		return awsproto.Validation("The provided key element does not match the schema")
	}
	for _, a := range t.keys.attrs() {
		v, ok := key[a]
		if !ok || v.Kind != t.attrTypes[a] {
			return awsproto.Validation("The provided key element does not match the schema")
		}
		if err := nonEmptyKey(a, v); err != nil {
			return err
		}
	}
	return nil
}

func nonEmptyKey(name string, v Value) error {
	if (v.Kind == KindS && v.S == "") || (v.Kind == KindB && len(v.B) == 0) {
		return awsproto.Validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", v.Kind, name)
	}
	return nil
}

// checkItem validates an item to store: table keys present with their
// types, index keys (when present) with theirs, and the size limit.
func (t *table) checkItem(it Item) error {
	for _, a := range t.keys.attrs() {
		v, ok := it[a]
		if !ok {
			return awsproto.Validation("One or more parameter values were invalid: Missing the key %s in the item", a)
		}
		if v.Kind != t.attrTypes[a] {
			return awsproto.Validation("One or more parameter values were invalid: Type mismatch for key %s expected: %s actual: %s", a, t.attrTypes[a], v.Kind)
		}
		if err := nonEmptyKey(a, v); err != nil {
			return err
		}
	}
	for _, ix := range t.indexes {
		for _, a := range ix.keys.attrs() {
			v, ok := it[a]
			if ok && v.Kind != t.attrTypes[a] {
				return awsproto.Validation("One or more parameter values were invalid: Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s", a, t.attrTypes[a], v.Kind, ix.name)
			}
			if ok {
				if err := nonEmptyKey(a, v); err != nil {
					return err
				}
			}
		}
	}
	if itemSize(it) > 400*1024 {
		return awsproto.Validation("Item size has exceeded the maximum allowed size")
	}
	return nil
}

// keyOf returns the primary key attributes of an item.
func (t *table) keyOf(it Item) Item {
	k := Item{t.keys.hash: it[t.keys.hash]}
	if t.keys.rng != "" {
		k[t.keys.rng] = it[t.keys.rng]
	}
	return k
}

// view is what a query or scan reads: the table itself or one index.
type view struct {
	t  *table
	ix *index // nil for the table
}

func (v view) keys() keySchema {
	if v.ix != nil {
		return v.ix.keys
	}
	return v.t.keys
}

// lastKey is the LastEvaluatedKey for it: table key plus index key.
func (v view) lastKey(it Item) Item {
	k := v.t.keyOf(it)
	if v.ix != nil {
		for _, a := range v.ix.keys.attrs() {
			k[a] = it[a]
		}
	}
	return k
}

// projected applies the index projection.
func (v view) projected(it Item) Item {
	if v.ix == nil || v.ix.projection == "ALL" {
		return it
	}
	out := v.lastKey(it)
	for _, a := range v.ix.nonKey {
		if x, ok := it[a]; ok {
			out[a] = x
		}
	}
	return out
}

// less orders items in a view: by range key, then (indexes) by table key.
func (v view) less(a, b Item) int {
	ks := v.keys()
	if ks.rng != "" {
		if c, _ := compare(a[ks.rng], b[ks.rng]); c != 0 {
			return c
		}
	}
	if v.ix != nil {
		return strings.Compare(v.t.pk(a), v.t.pk(b))
	}
	return 0
}

// items lists the live items of the view (index: those with its keys),
// optionally only one partition, sorted in view order.
func (v view) items(now time.Time, hash *Value) []Item {
	ks := v.keys()
	var out []Item
	for k, it := range v.t.items {
		if v.t.expired(it, now) {
			delete(v.t.items, k)
			continue
		}
		hv, ok := it[ks.hash]
		if !ok {
			continue
		}
		if ks.rng != "" {
			if _, ok := it[ks.rng]; !ok {
				continue
			}
		}
		if hash != nil && !equal(hv, *hash) {
			continue
		}
		out = append(out, it)
	}
	if hash != nil {
		sort.Slice(out, func(i, j int) bool { return v.less(out[i], out[j]) < 0 })
		return out
	}
	// Scans go partition by partition, in a stable order.
	sort.Slice(out, func(i, j int) bool {
		a, b := hashOrder(out[i][ks.hash]), hashOrder(out[j][ks.hash])
		if a != b {
			return a < b
		}
		if c := strings.Compare(encodeKey(out[i][ks.hash]), encodeKey(out[j][ks.hash])); c != 0 {
			return c < 0
		}
		return v.less(out[i], out[j]) < 0
	})
	return out
}

func hashOrder(v Value) uint32 {
	h := fnv.New32a()
	h.Write([]byte(encodeKey(v)))
	return h.Sum32()
}

// after reports whether it comes after the exclusive start key in a scan
// or query in the given direction.
func (v view) after(it, start Item, scan, forward bool) bool {
	ks := v.keys()
	if scan {
		a, b := hashOrder(it[ks.hash]), hashOrder(start[ks.hash])
		if a != b {
			return a > b
		}
		if c := strings.Compare(encodeKey(it[ks.hash]), encodeKey(start[ks.hash])); c != 0 {
			return c > 0
		}
	}
	c := v.less(it, start)
	if forward {
		return c > 0
	}
	return c < 0
}

func (t *table) description(now time.Time) map[string]any {
	var size int
	count := 0
	for _, it := range t.items {
		if !t.expired(it, now) {
			count++
			size += itemSize(it)
		}
	}
	var defs []map[string]string
	names := make([]string, 0, len(t.attrTypes))
	for n := range t.attrTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		defs = append(defs, map[string]string{"AttributeName": n, "AttributeType": t.attrTypes[n].String()})
	}
	d := map[string]any{
		"TableName": t.name, "TableArn": t.arn, "TableId": t.id, "TableStatus": "ACTIVE",
		"KeySchema": t.keys.wire(), "AttributeDefinitions": defs,
		"CreationDateTime": float64(t.created.UnixNano()) / 1e9,
		"ItemCount":        count, "TableSizeBytes": size,
		"BillingModeSummary":        map[string]any{"BillingMode": t.billing},
		"DeletionProtectionEnabled": t.protected,
		"ProvisionedThroughput":     t.throughputOut(t.throughput),
	}
	if t.sseType != "" {
		d["SSEDescription"] = map[string]any{"Status": "ENABLED", "SSEType": t.sseType}
	}
	var gsis, lsis []map[string]any
	ixNames := make([]string, 0, len(t.indexes))
	for n := range t.indexes {
		ixNames = append(ixNames, n)
	}
	sort.Strings(ixNames)
	for _, n := range ixNames {
		ix := t.indexes[n]
		proj := map[string]any{"ProjectionType": ix.projection}
		if len(ix.nonKey) > 0 {
			proj["NonKeyAttributes"] = ix.nonKey
		}
		out := map[string]any{"IndexName": ix.name, "KeySchema": ix.keys.wire(), "Projection": proj,
			"IndexArn": t.arn + "/index/" + ix.name, "ItemCount": count}
		if ix.global {
			out["IndexStatus"] = "ACTIVE"
			out["ProvisionedThroughput"] = t.throughputOut(ix.throughput)
			gsis = append(gsis, out)
		} else {
			lsis = append(lsis, out)
		}
	}
	if gsis != nil {
		d["GlobalSecondaryIndexes"] = gsis
	}
	if lsis != nil {
		d["LocalSecondaryIndexes"] = lsis
	}
	return d
}

func (t *table) throughputOut(p map[string]any) map[string]any {
	out := map[string]any{"ReadCapacityUnits": 0, "WriteCapacityUnits": 0, "NumberOfDecreasesToday": 0}
	for k, v := range p {
		out[k] = v
	}
	return out
}

func tableARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, name)
}

func (t *table) backups() map[string]any {
	status := "DISABLED"
	if t.pitr {
		status = "ENABLED"
	}
	return map[string]any{"ContinuousBackupsStatus": "ENABLED",
		"PointInTimeRecoveryDescription": map[string]any{"PointInTimeRecoveryStatus": status}}
}
