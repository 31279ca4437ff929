// Command register is pushdeploy's register function: internal/handler's "register",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("register") }
