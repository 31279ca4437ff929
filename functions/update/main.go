// Command update is pushdeploy's update function: internal/handler's "update",
// wired by internal/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/lambdamain"

func main() { lambdamain.Run("update") }
