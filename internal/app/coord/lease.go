// The lease: one item per service in the history table.
//
// Item (in the history table, see package history):
//
//	pk "SVC#<service>", sk "LEASE"
//	holder      S  execution ARN; absent when free
//	seq         N  sequence of the holder (highest seen)
//	leaseUntil  N  expiry, Unix milliseconds (not the table's TTL attribute:
//	               the item must outlive its holder to keep seq)
//	token       S  task token of the holder's current wait, if any
//	wait        S  that wait, JSON (Wait): its phase, plan, update, start
//	               and deadline, so that a waker can judge it
//	lastHolder  S  the holder that released last (makes Release idempotent)
//	pending     SS revisions the holder is putting on the service (Intend,
//	               before each UpdateService attempt)
//	lateUpdates SS revisions an execution this holder superseded may put on
//	               the service late: its pending revisions, carried over by
//	               Acquire, and those it marked with MarkLateUpdate after
//	               landing. They concern this holder's tenure only.

package coord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// ErrSuperseded matches (errors.Is) every *SupersededError.
var ErrSuperseded = errors.New("superseded")

// SupersededError: a newer execution holds (or held) the service's lease.
// The execution that gets it must stop touching the service.
type SupersededError struct {
	Service string
	// By is the holder that superseded this execution ("" if it released).
	By  string
	Seq int64
}

func (e *SupersededError) Error() string {
	by := e.By
	if by == "" {
		by = "a newer execution"
	}
	return fmt.Sprintf("lease of %s: superseded by %s", e.Service, by)
}

// Is makes errors.Is(err, ErrSuperseded) true.
func (e *SupersededError) Is(target error) bool { return target == ErrSuperseded }

// HeldError: Acquire in IfFree mode found a live lease of another
// execution that it does not outrank.
type HeldError struct {
	Service string
	Holder  string
	Until   time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("lease of %s is held by %s until %s", e.Service, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

// NotHolderError: Release by an execution that does not hold the lease.
type NotHolderError struct {
	Service string
	Holder  string
}

func (e *NotHolderError) Error() string {
	return fmt.Sprintf("lease of %s is held by %q, not by the caller", e.Service, e.Holder)
}

// Mode says whether Acquire may take the lease from a live holder.
type Mode int

const (
	// Preempt takes the lease from an older holder (see Request for the
	// order): deploys, where the latest push wins.
	Preempt Mode = iota
	// IfFree takes the lease only if nobody holds it (or the lease expired),
	// or its holder only waits for an approval (nothing changed yet):
	// alarm-triggered rollbacks, which must not fight a deploy in flight.
	IfFree
)

// Request asks for a service's lease.
type Request struct {
	Service string
	Holder  string // execution ARN
	// Seq orders executions of one service; higher is newer. Use the push
	// time (Unix ms) for pushes, the execution start time for others.
	Seq int64
	// Tie orders executions of equal Seq (higher wins), then Holder does:
	// the order is total, so which execution wins never depends on which
	// acquires last. Pushes use the image digest.
	Tie  string
	TTL  time.Duration
	Mode Mode
}

// rank is what the lease stores to order equal sequences: Tie, then Holder
// (the separator sorts below every character of a digest or an ARN).
func (r Request) rank() string { return r.Tie + " " + r.Holder }

// Acquired says what Acquire took over.
type Acquired struct {
	// Previous is the holder the lease was taken from, live or expired (""
	// if the lease was free): wake it with PreviousToken so it notices it
	// was superseded.
	Previous      string
	PreviousToken string
	// PreviousPhase is the phase of the wait PreviousToken parks: an
	// approval wait is failed (Superseded), any other woken.
	PreviousPhase contract.Phase
}

// State is the lease as stored.
type State struct {
	Holder string    `json:"holder,omitempty"`
	Seq    int64     `json:"seq"`
	Rank   string    `json:"rank,omitempty"`
	Until  time.Time `json:"until"`
	Token  string    `json:"token,omitempty"`
	// Wait is the parked wait whose task token is Token (nil if none, or
	// parked by a version that stored the token alone).
	Wait       *Wait  `json:"wait,omitempty"`
	LastHolder string `json:"lastHolder,omitempty"`
	// Pending are the revisions the holder announced with Intend.
	Pending []string `json:"pending,omitempty"`
	// LateUpdates are the revisions a superseded execution may have put on
	// the service during the current holder's tenure.
	LateUpdates []string `json:"lateUpdates,omitempty"`
}

// IsLateUpdate reports whether rev (an ARN, as marked) was marked as a
// superseded execution's late update.
func (s State) IsLateUpdate(rev string) bool {
	for _, r := range s.LateUpdates {
		if r == rev {
			return true
		}
	}
	return false
}

// Held reports whether a live holder has the lease at now.
func (s State) Held(now time.Time) bool { return s.Holder != "" && now.Before(s.Until) }

// Store manages leases.
type Store struct {
	db    awsapi.DynamoDB
	table string
	clk   clock.Clock
}

// New returns a Store on table (the history table).
func New(db awsapi.DynamoDB, table string, clk clock.Clock) (*Store, error) {
	if db == nil || table == "" || clk == nil {
		return nil, errors.New("lease: DynamoDB client, table name and clock are required")
	}
	return &Store{db: db, table: table, clk: clk}, nil
}

const skLease = "LEASE"

func (s *Store) key(service string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "SVC#" + service},
		"sk": &ddbtypes.AttributeValueMemberS{Value: skLease},
	}
}

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func num(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func ms(t time.Time) int64 { return t.UnixMilli() }
func isCondFailed(err error) bool {
	var c *ddbtypes.ConditionalCheckFailedException
	return errors.As(err, &c)
}
func validate(service, holder string) error {
	if service == "" || holder == "" {
		return errors.New("lease: service and holder are required")
	}
	return nil
}

// Acquire takes the service's lease for r.Holder. It returns
// *SupersededError if a newer execution holds or held it, and *HeldError if
// a live holder keeps it (IfFree, or an equal sequence). Acquiring again by
// the holder renews it. Acquire writes the whole item, so a stored task
// token is dropped (a taken-over holder's token comes back in Acquired).
func (s *Store) Acquire(ctx context.Context, r Request) (Acquired, error) {
	if err := validate(r.Service, r.Holder); err != nil {
		return Acquired{}, err
	}
	if r.TTL <= 0 {
		return Acquired{}, fmt.Errorf("lease: TTL must be positive, got %s", r.TTL)
	}
	now := s.clk.Now()
	item := s.key(r.Service)
	item["holder"] = str(r.Holder)
	item["seq"] = num(r.Seq)
	item["rank"] = str(r.rank())
	item["leaseUntil"] = num(ms(now.Add(r.TTL)))
	item["acquiredAt"] = num(ms(now))
	// Free: no holder, or expired. Ours: renewing. Newer: we outrank the
	// holder, by sequence and then rank (a lease written before ranks
	// existed ranks lowest).
	notNewer := "(seq < :seq OR (seq = :seq AND (attribute_not_exists(#rank) OR #rank <= :rank)))"
	cond := "attribute_not_exists(pk) OR (" + notNewer + " AND (attribute_not_exists(holder) OR leaseUntil < :now OR holder = :h))"
	values := map[string]ddbtypes.AttributeValue{
		":seq": num(r.Seq), ":now": num(ms(now)), ":h": str(r.Holder), ":rank": str(r.rank()),
	}
	names := map[string]string{"#rank": "rank"}
	switch r.Mode {
	case Preempt:
		cond += " OR " + notNewer
	case IfFree:
		cond += " OR (" + notNewer + " AND begins_with(#wait, :approving))"
		names["#wait"], values[":approving"] = "wait", str(approvingPrefix)
	}
	out, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              ddbtypes.ReturnValueAllOld,
	})
	if isCondFailed(err) {
		st, gerr := s.Get(ctx, r.Service)
		if gerr != nil {
			return Acquired{}, gerr
		}
		if st.Seq > r.Seq || (st.Seq == r.Seq && st.Rank > r.rank()) {
			return Acquired{}, &SupersededError{Service: r.Service, By: st.Holder, Seq: st.Seq}
		}
		return Acquired{}, &HeldError{Service: r.Service, Holder: st.Holder, Until: st.Until}
	}
	if err != nil {
		return Acquired{}, fmt.Errorf("acquire lease of %s: %w", r.Service, err)
	}
	old, err := decode(out.Attributes)
	if err != nil {
		return Acquired{}, err
	}
	var a Acquired
	// An expired holder may still be waiting (its wait outlived the TTL):
	// it is reported too, so it can be woken.
	if old.Holder != "" && old.Holder != r.Holder {
		a.Previous, a.PreviousToken = old.Holder, old.Token
		if old.Wait != nil {
			a.PreviousPhase = old.Wait.Phase
		}
		// Its UpdateService may be in flight and land late: its revisions
		// become this holder's to repair. Before Acquire returns, so before
		// this holder can look at the service; the old holder can no longer
		// add any (Intend needs the lease).
		if late := append(old.Pending, old.LateUpdates...); len(late) > 0 {
			if err := s.inherit(ctx, r.Service, r.Holder, late); err != nil {
				return Acquired{}, err
			}
		}
	}
	return a, nil
}

// inherit records a superseded holder's revisions as late updates of the
// new holder's tenure.
func (s *Store) inherit(ctx context.Context, service, holder string, revs []string) error {
	err := s.update(ctx, service, holder, "ADD lateUpdates :revs", map[string]ddbtypes.AttributeValue{
		":revs": &ddbtypes.AttributeValueMemberSS{Value: dedupe(revs)},
	})
	if errors.Is(err, ErrSuperseded) {
		return nil // an even newer holder took over and inherited them
	}
	return err
}

func dedupe(revs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range revs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// Intend checks that holder holds the lease, as Check, and records rev as a
// revision it is putting on the service, in one conditional write: call it
// right before each UpdateService attempt. Should a newer execution take
// the lease while the attempt is in flight, it inherits rev as a possible
// late update, known before the update can land.
func (s *Store) Intend(ctx context.Context, service, holder, rev string) error {
	if rev == "" {
		return errors.New("lease: empty revision")
	}
	return s.update(ctx, service, holder, "ADD pending :rev", map[string]ddbtypes.AttributeValue{
		":rev": &ddbtypes.AttributeValueMemberSS{Value: []string{rev}},
	})
}

// Check returns nil if holder still holds the lease, *SupersededError if
// another execution took it (or it was never taken by holder).
func (s *Store) Check(ctx context.Context, service, holder string) error {
	if err := validate(service, holder); err != nil {
		return err
	}
	st, err := s.Get(ctx, service)
	if err != nil {
		return err
	}
	if st.Holder != holder {
		return &SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	return nil
}

// Renew extends holder's lease by ttl from now.
func (s *Store) Renew(ctx context.Context, service, holder string, ttl time.Duration) error {
	return s.update(ctx, service, holder, "SET leaseUntil = :until", map[string]ddbtypes.AttributeValue{
		":until": num(ms(s.clk.Now().Add(ttl))),
	})
}

// SetWait stores holder's current wait, its task token and what a waker
// needs to judge it (replacing any).
func (s *Store) SetWait(ctx context.Context, service, holder string, w Wait) error {
	if w.Token == "" {
		return errors.New("lease: empty task token")
	}
	body, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("lease: encode wait: %w", err)
	}
	return s.update(ctx, service, holder, "SET #token = :token, #wait = :wait", map[string]ddbtypes.AttributeValue{
		":token": str(w.Token), ":wait": str(string(body)),
	})
}

// ClearToken removes token if it is still the stored one, and reports
// whether it did: the events function claims a token this way so that one
// wait is woken once.
func (s *Store) ClearToken(ctx context.Context, service, token string) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(service),
		UpdateExpression:          aws.String("REMOVE #token, #wait"),
		ConditionExpression:       aws.String("#token = :token"),
		ExpressionAttributeNames:  map[string]string{"#token": "token", "#wait": "wait"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":token": str(token)},
	})
	if isCondFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("clear token of %s: %w", service, err)
	}
	return true, nil
}

// MarkLateUpdate records that a superseded execution's UpdateService put
// rev on the service after a newer execution took the lease, so that the
// holder repairs it, telling it from a change made outside pushdeploy,
// which it must leave alone. The caller does not hold the lease; the mark
// is only written while someone does, and reported false when nobody does
// (a released lease has nobody to repair the service).
func (s *Store) MarkLateUpdate(ctx context.Context, service, rev string) (bool, error) {
	if service == "" || rev == "" {
		return false, errors.New("lease: service and revision are required")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 s.key(service),
		UpdateExpression:    aws.String("ADD lateUpdates :rev"),
		ConditionExpression: aws.String("attribute_exists(holder)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":rev": &ddbtypes.AttributeValueMemberSS{Value: []string{rev}},
		},
	})
	if isCondFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("mark late update of %s: %w", service, err)
	}
	return true, nil
}

// Release frees holder's lease, keeping the sequence so older executions
// stay superseded. Releasing twice is fine; releasing a lease another
// execution holds returns *NotHolderError (or *SupersededError if a newer
// one took it) and changes nothing.
func (s *Store) Release(ctx context.Context, service, holder string) error {
	err := s.update(ctx, service, holder, releaseExpr, nil)
	if err == nil {
		return nil
	}
	var sup *SupersededError
	if !errors.As(err, &sup) {
		return err
	}
	st, gerr := s.Get(ctx, service)
	if gerr != nil {
		return gerr
	}
	if st.Holder == "" && st.LastHolder == holder {
		return nil // already released by this holder
	}
	if st.Holder == "" {
		return &NotHolderError{Service: service}
	}
	return sup
}

// releaseExpr is what Release and ReleaseWrite do to the lease item.
const releaseExpr = "REMOVE holder, #token, #wait, leaseUntil, pending, lateUpdates SET lastHolder = :h"

// ReleaseWrite is Release as one item of a caller's DynamoDB transaction
// (finish writes it with the history record): it fails its condition, and
// cancels the transaction, unless holder holds the lease. The caller then
// writes the rest without it and calls Release, which says why.
func (s *Store) ReleaseWrite(service, holder string) (ddbtypes.TransactWriteItem, error) {
	in, err := s.updateInput(service, holder, releaseExpr, nil)
	if err != nil {
		return ddbtypes.TransactWriteItem{}, err
	}
	return ddbtypes.TransactWriteItem{Update: &ddbtypes.Update{
		TableName: in.TableName, Key: in.Key, UpdateExpression: in.UpdateExpression, ConditionExpression: in.ConditionExpression,
		ExpressionAttributeNames: in.ExpressionAttributeNames, ExpressionAttributeValues: in.ExpressionAttributeValues,
	}}, nil
}

// update runs a conditional update that requires holder to hold the lease.
func (s *Store) update(ctx context.Context, service, holder, expr string, values map[string]ddbtypes.AttributeValue) error {
	in, err := s.updateInput(service, holder, expr, values)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, in)
	if isCondFailed(err) {
		st, gerr := s.Get(ctx, service)
		if gerr != nil {
			return gerr
		}
		return &SupersededError{Service: service, By: st.Holder, Seq: st.Seq}
	}
	if err != nil {
		return fmt.Errorf("update lease of %s: %w", service, err)
	}
	return nil
}

// updateInput is the update of the lease item, conditional on holder.
func (s *Store) updateInput(service, holder, expr string, values map[string]ddbtypes.AttributeValue) (*dynamodb.UpdateItemInput, error) {
	if err := validate(service, holder); err != nil {
		return nil, err
	}
	vals := map[string]ddbtypes.AttributeValue{":h": str(holder)}
	for k, v := range values {
		vals[k] = v
	}
	names := map[string]string{}
	if containsToken(expr) {
		names["#token"] = "token"
	}
	if strings.Contains(expr, "#wait") {
		names["#wait"] = "wait"
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       s.key(service),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("holder = :h"),
		ExpressionAttributeValues: vals,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	return in, nil
}

func containsToken(expr string) bool { return strings.Contains(expr, "#token") }

// Get reads the lease (consistently). A service never leased gives a zero State.
func (s *Store) Get(ctx context.Context, service string) (State, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.key(service),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return State{}, fmt.Errorf("get lease of %s: %w", service, err)
	}
	return decode(out.Item)
}

type item struct {
	Holder     string `dynamodbav:"holder"`
	Seq        int64  `dynamodbav:"seq"`
	Rank       string `dynamodbav:"rank"`
	LeaseUntil int64  `dynamodbav:"leaseUntil"`
	Token      string `dynamodbav:"token"`
	Wait       string `dynamodbav:"wait"`
	LastHolder string `dynamodbav:"lastHolder"`
	// A string set: ADD merges marks without reading them first.
	LateUpdates []string `dynamodbav:"lateUpdates,stringset"`
	Pending     []string `dynamodbav:"pending,stringset"`
}

func decode(av map[string]ddbtypes.AttributeValue) (State, error) {
	if len(av) == 0 {
		return State{}, nil
	}
	var it item
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return State{}, fmt.Errorf("unmarshal lease: %w", err)
	}
	st := State{Holder: it.Holder, Seq: it.Seq, Rank: it.Rank, Token: it.Token, LastHolder: it.LastHolder, Pending: it.Pending, LateUpdates: it.LateUpdates}
	if it.LeaseUntil != 0 {
		st.Until = time.UnixMilli(it.LeaseUntil).UTC()
	}
	if it.Wait != "" && it.Token != "" {
		var w Wait
		if err := json.Unmarshal([]byte(it.Wait), &w); err != nil {
			return State{}, fmt.Errorf("unmarshal lease wait: %w", err)
		}
		w.Token = it.Token
		st.Wait = &w
	}
	return st, nil
}
