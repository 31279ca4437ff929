// Command check is pushdeploy's check function: internal/app/handler's "check",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("check") }
