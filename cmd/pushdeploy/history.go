package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/app/history"
)

// runHistory is `pushdeploy history`.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCLICommand("history", "--cluster C --service S [--limit N] [--wide] [--output json]",
		"Lists a service's deployment records, newest first: one per execution (deploys,\n"+
			"rollbacks, redeploys, skips), with outcome, revisions, image, trigger and reason.\n"+
			"TRIED is the revision an execution put on the service when it is not the one left\n"+
			"running (a deploy rolled back, failed or superseded). The table fits 120 columns,\n"+
			"long values cut with …; --wide shows them whole; --output json has every field.",
		stdout, stderr)
	f := newServiceFlags(c)
	limit := c.fs.Int("limit", 20, "at most this many records")
	wide := c.fs.Bool("wide", false, "show every column whole (default: the table fits 120 columns, long values cut with …)")
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
	writeHistoryTable(stdout, recs, *wide)
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

// taskDefinitionPrefix is a task definition ARN up to family:N.
var taskDefinitionPrefix = regexp.MustCompile(`arn:aws[a-z-]*:ecs:[a-z0-9-]*:[0-9]*:task-definition/`)

// startedBy is who started an execution; narrow, with the trigger in it: a
// push is "push" (its ECR event id is in --wide and JSON), an alarm its
// alarm, a person the last part of their ARN.
func startedBy(r history.Record, wide bool) string {
	switch {
	case wide:
		return r.StartedBy
	case r.Trigger == "push":
		return "push"
	case r.Trigger == "alarm" && !strings.HasPrefix(r.StartedBy, "alarm"):
		return strings.TrimSpace("alarm " + r.StartedBy)
	}
	return shortName(r.StartedBy)
}

// historyWidth is what the table fits in by default: a terminal of 120
// columns, the REASON column last taking what the others leave.
const historyWidth = 120

func writeHistoryTable(w io.Writer, recs []history.Record, wide bool) {
	if len(recs) == 0 {
		fmt.Fprintln(w, "no deployment records")
		return
	}
	// Narrow: the year and seconds go (records expire after
	// HistoryRetentionDays, 90 by default), an image is its tag (or 8 hex
	// digits of its digest), TRIGGER goes into BY, task definition ARNs in
	// reasons are family:N.
	started := "01-02 15:04"
	header := []string{"STARTED", "TOOK", "ACTION", "OUTCOME", "FROM", "TO", "TRIED", "IMAGE", "BY", "REASON"}
	if wide {
		started = time.DateTime
		header = []string{"STARTED", "TOOK", "ACTION", "TRIGGER", "OUTCOME", "FROM", "TO", "TRIED", "IMAGE", "BY", "REASON"}
	}
	rows := [][]string{header}
	for _, r := range recs {
		reason := strings.Join(strings.Fields(r.Reason), " ")
		row := []string{r.StartedAt.UTC().Format(started), r.FinishedAt.Sub(r.StartedAt).Round(time.Second).String(), dash(r.Action)}
		if wide {
			row = append(row, dash(r.Trigger))
		} else {
			reason = taskDefinitionPrefix.ReplaceAllString(reason, "")
		}
		row = append(row, string(r.Outcome),
			dash(shortRevision(r.FromRevision)), dash(shortRevision(r.ToRevision)), tried(r),
			dash(recordImages(r.Images, wide)), dash(startedBy(r, wide)), dash(reason))
		rows = append(rows, row)
	}
	widths := columnWidths(rows)
	if !wide {
		fitColumns(widths, historyWidth)
	}
	for _, row := range rows {
		var b strings.Builder
		for i, cell := range row {
			cell = cut(cell, widths[i])
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// columnWidths is each column's widest cell, in runes.
func columnWidths(rows [][]string) []int {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	return widths
}

// fitColumns narrows the columns so that a row fits in total runes (two
// spaces between columns): the last column (REASON) takes what is left,
// down to minLast (24); below that the widest of the cuttable columns (FROM, TO,
// TRIED, IMAGE, BY) gives a rune at a time, down to minCut (8), and
// then the last column too.
func fitColumns(widths []int, total int) {
	const minLast, minCut = 24, 8
	cuttable := []int{len(widths) - 6, len(widths) - 5, len(widths) - 4, len(widths) - 3, len(widths) - 2} // FROM, TO, TRIED, IMAGE, BY
	sum := func() int {
		n := 2 * (len(widths) - 1)
		for _, w := range widths[:len(widths)-1] {
			n += w
		}
		return n
	}
	for sum()+minLast > total {
		widest := -1
		for _, i := range cuttable {
			if widths[i] > minCut && (widest < 0 || widths[i] > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
	}
	last := len(widths) - 1
	widths[last] = min(widths[last], max(minCut, total-sum()))
}

// cut shortens s to n runes, the last one "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// recordImages shows a record's images short: name:tag (by digest, its
// first 8 hex digits, when it has no tag), or container=... when there are
// several; wide, name:tag@sha256:<whole digest>.
func recordImages(imgs []history.Image, wide bool) string {
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
		switch d := strings.TrimPrefix(i.Digest, "sha256:"); {
		case wide && i.Digest != "":
			name += "@" + i.Digest
		case d != "" && i.Tag == "":
			name += "@" + d[:min(8, len(d))]
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
