// Command gen writes statemachine/deploy.asl.json from statemachine.Build
// (go generate ./statemachine).
package main

import (
	"fmt"
	"os"

	"github.com/pushdeploy/pushdeploy/statemachine"
)

func main() {
	b, err := statemachine.Generate()
	if err == nil {
		err = os.WriteFile("deploy.asl.json", b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
