package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// runHistory is `pushdeploy history`.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("history", "--cluster C --service S [--limit N] [--output json]",
		"Lists a service's deployment records, newest first: one per execution (deploys,\n"+
			"rollbacks, redeploys, skips), with outcome, revisions, image, trigger and reason.",
		stdout, stderr)
	f := newServiceFlags(c)
	limit := c.fs.Int("limit", 20, "at most this many records")
	if _, code, done := c.parse(args, 0); done {
		return code
	}
	if code, ok := f.check(c); !ok {
		return code
	}
	if *limit < 1 {
		return c.usageError("--limit must be at least 1")
	}
	_, svc, store, err := f.open(ctx)
	if err != nil {
		return c.fail(err)
	}
	recs, err := listHistory(ctx, store, aws.ToString(svc.ServiceArn), *limit)
	if err != nil {
		return c.fail(err)
	}
	if f.out.json() {
		if recs == nil {
			recs = []history.Record{}
		}
		if err := writeJSON(stdout, recs); err != nil {
			return c.fail(err)
		}
		return exitOK
	}
	writeHistoryTable(stdout, recs)
	return exitOK
}

// listHistory reads up to limit records, newest first, across pages.
func listHistory(ctx context.Context, store *history.Store, serviceARN string, limit int) ([]history.Record, error) {
	var recs []history.Record
	token := ""
	for len(recs) < limit {
		p, err := store.List(ctx, serviceARN, min(limit-len(recs), 100), token)
		if err != nil {
			return nil, err
		}
		recs = append(recs, p.Records...)
		if p.Next == "" {
			break
		}
		token = p.Next
	}
	return recs, nil
}

// writeHistoryTable prints records as an aligned table.
// tried is the revision an execution put on the service when it is not the
// one left running (a deploy rolled back, failed or superseded), else "-":
// "web:3 -> web:3" alone would hide what was tried.
func tried(r history.Record) string {
	if r.DeployedRevision == "" || r.DeployedRevision == r.ToRevision {
		return "-"
	}
	return shortRevision(r.DeployedRevision)
}

func writeHistoryTable(w io.Writer, recs []history.Record) {
	if len(recs) == 0 {
		fmt.Fprintln(w, "no deployment records")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tDURATION\tACTION\tTRIGGER\tOUTCOME\tFROM\tTO\tTRIED\tIMAGE\tBY\tREASON")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.StartedAt.UTC().Format("2006-01-02 15:04:05"),
			r.FinishedAt.Sub(r.StartedAt).Round(time.Second),
			dash(r.Action), dash(r.Trigger), r.Outcome,
			dash(shortRevision(r.FromRevision)), dash(shortRevision(r.ToRevision)), tried(r),
			dash(recordImages(r.Images)), dash(r.StartedBy), dash(abbreviate(r.Reason, 80)))
	}
	tw.Flush()
}

// recordImages shows a record's images short: tag@sha256:first 12, or
// container=... when there are several.
func recordImages(imgs []history.Image) string {
	var parts []string
	for _, i := range imgs {
		name := i.Image
		if k := strings.LastIndex(name, "/"); k >= 0 {
			name = name[k+1:]
		}
		if k := strings.Index(name, "@"); k >= 0 {
			name = name[:k]
		}
		if i.Tag != "" {
			name += ":" + i.Tag
		}
		if d := strings.TrimPrefix(i.Digest, "sha256:"); d != "" {
			name += "@" + d[:min(12, len(d))]
		}
		if len(imgs) > 1 {
			name = i.Container + "=" + name
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
