// Command events is pushdeploy's events function: internal/handler's "events",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("events") }
