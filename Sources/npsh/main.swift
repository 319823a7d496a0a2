import Runtime
import Foundation
let t0 = Date()
let cat = NB101Enumeration.enumerate()
print(cat.cells.count, cat.countsByVertices, Date().timeIntervalSince(t0))
let c = try NB101Cell(matrix: [[0,1,1,1,1,0,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]], ops: ["input","conv3x3-bn-relu","conv1x1-bn-relu","maxpool3x3","conv3x3-bn-relu","conv3x3-bn-relu","output"])
print(c.hash.hex)
