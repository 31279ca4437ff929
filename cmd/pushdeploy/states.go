package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/states"
)

const statesUsage = `usage: pushdeploy states run --definition FILE [--input JSON | --input @FILE] [--task STATE=COMMAND ...]

Runs a state machine definition locally on a virtual clock (Wait states and
retry intervals pass instantly). A Task state named STATE runs COMMAND with
"sh -c": the task input arrives on stdin, the output is read from stdout; a
non-zero exit fails the task with the {"Error":...,"Cause":...} printed on
stdout (or States.TaskFailed). For arn:aws:states:::lambda:invoke the command
plays the function: it reads the Payload and its output is wrapped in
{"Payload":...,"StatusCode":200}. For ".waitForTaskToken" tasks the
command's output completes the token (the token is in $PUSHDEPLOY_TASK_TOKEN).

Prints the execution output and exits 0, or prints {"Error":...,"Cause":...}
and exits 1. Bad usage or an invalid definition exits 2.
`

// runStates is the "states" subcommand.
func runStates(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "run" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			fmt.Fprint(stdout, statesUsage)
			return 0
		}
		fmt.Fprint(stderr, statesUsage)
		return 2
	}
	fs := flag.NewFlagSet("states run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	defPath := fs.String("definition", "", "state machine definition file (JSON)")
	input := fs.String("input", "{}", "execution input: JSON text, or @FILE")
	tasks := taskFlags{}
	fs.Var(tasks, "task", "STATE=COMMAND: run COMMAND for Task state STATE (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, statesUsage)
			return 0
		}
		fmt.Fprintf(stderr, "pushdeploy: states run: %v (see 'pushdeploy states --help')\n", err)
		return 2
	}
	if *defPath == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pushdeploy: states run: want --definition FILE and no arguments (see 'pushdeploy states --help')")
		return 2
	}
	def, err := os.ReadFile(*defPath)
	if err != nil {
		fmt.Fprintln(stderr, errorLine("states run: read definition", err))
		return 2
	}
	in := []byte(*input)
	if name, ok := strings.CutPrefix(*input, "@"); ok {
		if in, err = os.ReadFile(name); err != nil {
			fmt.Fprintln(stderr, errorLine("states run: read input", err))
			return 2
		}
	}
	if !json.Valid(in) {
		fmt.Fprintln(stderr, "pushdeploy: states run: input is not valid JSON")
		return 2
	}
	m, err := states.Parse(def)
	if err != nil {
		fmt.Fprintln(stderr, errorLine("states run", err))
		return 2
	}

	clk := clock.NewVirtual(time.Now().UTC().Truncate(time.Millisecond))
	stop := clk.AutoAdvance(0)
	defer stop()
	runner := &commandTasks{commands: tasks, stderr: stderr}
	engine := states.NewEngine(states.EngineOptions{Clock: clk, Tasks: runner})
	runner.engine = engine
	info := states.ExecutionInfo{
		ID:               "arn:aws:states:us-east-1:123456789012:execution:local:run",
		Name:             "run",
		StateMachineID:   "arn:aws:states:us-east-1:123456789012:stateMachine:local",
		StateMachineName: "local",
	}
	x := engine.Start(ctx, m, info, in)
	res, err := x.Wait(ctx)
	if err != nil {
		x.Stop("States.Aborted", "interrupted")
		res = states.Result{Status: states.StatusAborted, Error: "States.Aborted", Cause: err.Error()}
	}
	if res.Status == states.StatusSucceeded {
		fmt.Fprintln(stdout, string(res.Output))
		return 0
	}
	out, _ := json.Marshal(struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	}{res.Error, res.Cause})
	fmt.Fprintln(stdout, string(out))
	return 1
}

// taskFlags collects --task STATE=COMMAND.
type taskFlags map[string]string

func (t taskFlags) String() string { return "" }

func (t taskFlags) Set(v string) error {
	state, cmd, ok := strings.Cut(v, "=")
	if !ok || state == "" || cmd == "" {
		return fmt.Errorf("want STATE=COMMAND, got %q", v)
	}
	if _, dup := t[state]; dup {
		return fmt.Errorf("state %q mapped twice", state)
	}
	t[state] = cmd
	return nil
}

// commandTasks runs Task states as local commands.
type commandTasks struct {
	commands map[string]string
	stderr   io.Writer
	engine   *states.Engine
}

func (c *commandTasks) RunTask(ctx context.Context, req states.TaskRequest) (json.RawMessage, error) {
	command, ok := c.commands[req.StateName]
	if !ok {
		return nil, &states.TaskFailure{ErrorName: "States.TaskFailed",
			Cause: fmt.Sprintf("no --task mapping for Task state %q (resource %s)", req.StateName, req.Resource)}
	}
	// For the optimized Lambda integration the command plays the function:
	// it gets the Payload and its output is wrapped as lambda:invoke does.
	lambda := states.IsLambdaInvoke(req.Resource)
	stdin := req.Input
	if lambda {
		_, payload, err := states.LambdaRequest(req.Input)
		if err != nil {
			return nil, &states.TaskFailure{ErrorName: "States.TaskFailed", Cause: err.Error()}
		}
		stdin = payload
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = c.stderr
	cmd.Env = append(os.Environ(), "PUSHDEPLOY_STATE="+req.StateName, "PUSHDEPLOY_TASK_TOKEN="+req.TaskToken)
	err := cmd.Run()
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return nil, &states.TaskFailure{ErrorName: "States.TaskFailed", Cause: fmt.Sprintf("run %q: %v", command, err)}
		}
		var f struct{ Error, Cause string }
		if json.Unmarshal(out.Bytes(), &f) == nil && f.Error != "" {
			return nil, &states.TaskFailure{ErrorName: f.Error, Cause: f.Cause}
		}
		return nil, &states.TaskFailure{ErrorName: "States.TaskFailed",
			Cause: fmt.Sprintf("%q exited with status %d: %s", command, exit.ExitCode(), strings.TrimSpace(out.String()))}
	}
	result := bytes.TrimSpace(out.Bytes())
	if len(result) == 0 {
		result = []byte("null")
	}
	if !json.Valid(result) {
		return nil, &states.TaskFailure{ErrorName: "States.TaskFailed", Cause: fmt.Sprintf("%q printed output that is not JSON", command)}
	}
	if req.TaskToken != "" {
		// Nobody else can answer the token of a local run: the command's
		// output completes it, as the callback would.
		if err := c.engine.SendTaskSuccess(req.TaskToken, result); err != nil {
			return nil, fmt.Errorf("complete task token: %w", err)
		}
	}
	if lambda {
		return states.LambdaResult(result), nil
	}
	return result, nil
}
