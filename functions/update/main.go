// Command update is pushdeploy's update function: internal/app/handler's "update",
// wired by internal/app/lambdamain.
package main

import "github.com/pushdeploy/pushdeploy/internal/app/lambdamain"

func main() { lambdamain.Run("update") }
