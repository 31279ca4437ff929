// Command events is pushdeploy's events function: internal/app/handler's "events",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("events") }
