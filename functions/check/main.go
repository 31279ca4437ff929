// Command check is pushdeploy's check function: internal/handler's "check",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("check") }
