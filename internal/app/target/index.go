package target

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// AlarmIndex maps an alarm to the services that list it, so that an alarm
// is resolved by reading one item and describing its services, not by a
// tagging scan of every opted-in service. In the history table, one item
// per alarm:
//
//	pk "ALARM#<alarm name>"  sk "INDEX"  services (string set of service ARNs), scannedAt (epoch seconds)
//
// Who writes it: dispatch, on every push, adds each target to the alarms
// of its configuration (one UpdateItem ADD per distinct alarm of the
// push); plan does the same for a manual execution's service; a scan
// (ForAlarm's fallback) replaces the item and stamps scannedAt. So every
// service pushdeploy planned since the alarm's last scan is in it: those
// an alarm rollback or a deploy in flight is about. Semantics, which the
// tests pin:
//   - the index is a hint, never the authority: every indexed service is
//     described with its tags and kept only if its current configuration
//     lists the alarm (or the alarm's own pushdeploy:service tag names it);
//   - stale entries (a service whose pushdeploy:alarms no longer lists the
//     alarm, a service deleted) are dropped then, from the answer and from
//     the item (UpdateItem DELETE);
//   - a service that started listing the alarm since it was last pushed
//     is not in the item: the fallback scan finds it, when the item is
//     missing (an alarm never resolved: a new alarm, a new stack) or
//     older than IndexMaxAge since its last scan; an alarm the index has
//     never seen is always scanned.
//
// IAM: dispatch dynamodb:GetItem, PutItem, UpdateItem on the table.
type AlarmIndex struct {
	db    awsapi.DynamoDB
	table string
	clk   clock.Clock
}

// IndexMaxAge is how long a scan's answer stands: past it, the next alarm
// scans again. It bounds how long a service whose tag started listing an
// alarm, with no deploy since, is missed (such a service has no deploy of
// pushdeploy in its rollback window for that alarm, unless the tag changed
// after the deploy); a scan per alarm per day is nothing next to a scan
// per alarm event.
const IndexMaxAge = 24 * time.Hour

// NewAlarmIndex returns the index on table (the history table).
func NewAlarmIndex(db awsapi.DynamoDB, table string, clk clock.Clock) (*AlarmIndex, error) {
	if db == nil || table == "" || clk == nil {
		return nil, errors.New("target: the alarm index needs a DynamoDB client, a table and a clock")
	}
	return &AlarmIndex{db: db, table: table, clk: clk}, nil
}

// IndexEntry is one alarm's item.
type IndexEntry struct {
	Found     bool // the item exists
	Services  []string
	ScannedAt time.Time // zero: never scanned (only pushes added to it)
}

// Fresh reports whether the entry answers for the alarm at now: it exists
// and was scanned less than IndexMaxAge ago.
func (e IndexEntry) Fresh(now time.Time) bool {
	return e.Found && !e.ScannedAt.IsZero() && now.Sub(e.ScannedAt) < IndexMaxAge
}

func indexKey(alarm string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "ALARM#" + alarm},
		"sk": &ddbtypes.AttributeValueMemberS{Value: "INDEX"},
	}
}

// Get reads the alarm's item.
func (x *AlarmIndex) Get(ctx context.Context, alarm string) (IndexEntry, error) {
	out, err := x.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(x.table), Key: indexKey(alarm), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return IndexEntry{}, fmt.Errorf("read alarm index of %s: %w", alarm, err)
	}
	if len(out.Item) == 0 {
		return IndexEntry{}, nil
	}
	e := IndexEntry{Found: true}
	if ss, ok := out.Item["services"].(*ddbtypes.AttributeValueMemberSS); ok {
		e.Services = append([]string(nil), ss.Value...)
		sort.Strings(e.Services)
	}
	if n, ok := out.Item["scannedAt"].(*ddbtypes.AttributeValueMemberN); ok {
		var sec int64
		if _, err := fmt.Sscan(n.Value, &sec); err == nil {
			e.ScannedAt = time.Unix(sec, 0).UTC()
		}
	}
	return e, nil
}

// Add adds services to the alarm's item (creating it, unscanned).
func (x *AlarmIndex) Add(ctx context.Context, alarm string, services []string) error {
	return x.update(ctx, "ADD", alarm, services)
}

// Remove removes services from the alarm's item.
func (x *AlarmIndex) Remove(ctx context.Context, alarm string, services []string) error {
	return x.update(ctx, "DELETE", alarm, services)
}

func (x *AlarmIndex) update(ctx context.Context, op, alarm string, services []string) error {
	if len(services) == 0 {
		return nil
	}
	set := slices.Clone(services)
	sort.Strings(set)
	set = slices.Compact(set)
	_, err := x.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(x.table), Key: indexKey(alarm),
		UpdateExpression:          aws.String(op + " services :s"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberSS{Value: set}},
	})
	if err != nil {
		return fmt.Errorf("alarm index of %s: %s %d services: %w", alarm, op, len(set), err)
	}
	return nil
}

// Replace writes what a scan found for the alarm (possibly nothing),
// stamped now.
func (x *AlarmIndex) Replace(ctx context.Context, alarm string, services []string) error {
	item := indexKey(alarm)
	item["scannedAt"] = &ddbtypes.AttributeValueMemberN{Value: fmt.Sprint(x.clk.Now().Unix())}
	if len(services) > 0 {
		set := slices.Clone(services)
		sort.Strings(set)
		item["services"] = &ddbtypes.AttributeValueMemberSS{Value: slices.Compact(set)}
	}
	if _, err := x.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(x.table), Item: item}); err != nil {
		return fmt.Errorf("alarm index of %s: write the scan: %w", alarm, err)
	}
	return nil
}

// WithIndex makes ForAlarm resolve through idx, with the scan as its
// fallback, and Index record pushes in it.
func (r *Resolver) WithIndex(idx *AlarmIndex) *Resolver {
	c := *r
	c.index = idx
	return &c
}

// Index records the targets of a push under each alarm their
// configuration lists: one UpdateItem per distinct alarm. Without an index
// it does nothing.
func (r *Resolver) Index(ctx context.Context, targets []Target) error {
	if r.index == nil {
		return nil
	}
	byAlarm := map[string][]string{}
	for _, t := range targets {
		for _, a := range t.Config.Alarms {
			byAlarm[a] = append(byAlarm[a], t.ServiceARN)
		}
	}
	alarms := make([]string, 0, len(byAlarm))
	for a := range byAlarm {
		alarms = append(alarms, a)
	}
	sort.Strings(alarms)
	var errs []error
	for _, a := range alarms {
		if err := r.index.Add(ctx, a, byAlarm[a]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// forAlarmIndexed resolves an alarm from its index entry: the indexed
// services and those the alarm's pushdeploy:service tag names, described
// with their tags and kept when their configuration lists the alarm. The
// stale ones are removed from the entry.
func (r *Resolver) forAlarmIndexed(ctx context.Context, alarm string, e IndexEntry, q query) (Discovery, error) {
	linked, err := r.linkedAlarms(ctx)
	if err != nil {
		return Discovery{}, err
	}
	byCluster := map[string][]string{}
	seen := map[string]bool{}
	add := func(cluster, service string) {
		k := cluster + "/" + service
		if !seen[k] {
			seen[k] = true
			byCluster[cluster] = append(byCluster[cluster], service)
		}
	}
	var out Discovery
	for _, arn := range e.Services {
		cluster, service, ok := SplitServiceARN(arn)
		if !ok {
			out.Skipped = append(out.Skipped, Skipped{ServiceARN: arn, Reason: (&InvalidARNError{arn}).Error(), Err: &InvalidARNError{arn}})
			continue
		}
		add(cluster, service)
	}
	for key, alarms := range linked { // keys are "cluster/service" (serviceKey)
		if slices.Contains(alarms, alarm) {
			cluster, service, _ := strings.Cut(key, "/")
			add(cluster, service)
		}
	}
	kept := map[string]bool{}
	found, err := r.describeAll(ctx, byCluster, linked, q, &out)
	if err != nil {
		return Discovery{}, err
	}
	for _, t := range found {
		kept[t.ServiceARN] = true
	}
	for _, s := range out.Skipped {
		kept[s.ServiceARN] = kept[s.ServiceARN] || !isNotFound(s.Err) // a bad tag is still the alarm's
	}
	var stale []string
	for _, arn := range e.Services {
		if !kept[arn] {
			stale = append(stale, arn)
		}
	}
	// Best effort: a stale entry left behind costs one describe next time.
	_ = r.index.Remove(ctx, alarm, stale)
	out.Targets = found
	sort.Slice(out.Targets, func(i, j int) bool { return out.Targets[i].ServiceARN < out.Targets[j].ServiceARN })
	return out, nil
}

func isNotFound(err error) bool {
	var nf *ServiceNotFoundError
	return errors.As(err, &nf)
}
