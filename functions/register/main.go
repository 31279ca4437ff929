// Command register is pushdeploy's register function: internal/app/handler's "register",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("register") }
