/// An owned float32 buffer (kernels work on raw pointers; this frees them), starting on a
/// 64-byte line, so that a row whose length is a multiple of 16 floats (a GCN weight
/// matrix's 2D at D = 144) is whole lines and the kernels' 16-float vectors do not straddle
/// two: the two threads of a fit, which update different rows of one matrix, then share no
/// line (interleaved, two-thread fits ran 11 % faster than with malloc's 16-byte start; one
/// thread alike). The bits do not depend on it.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(_ count: Int) {
        self.count = count
        let n = max(count, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: n)
        pointer.initialize(repeating: 0, count: n)
    }

    public convenience init(_ values: [Float]) {
        self.init(values.count)
        for (i, v) in values.enumerated() { pointer[i] = v }
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
    public func zero() { pointer.update(repeating: 0, count: count) }
}

/// What a predictor reads for a batch of architectures: graph encodings (one-hot ops,
/// adjacency, real-vertex counts) and the flat vector [ops ‖ upper triangle] for MLP/CNN.
final class InputBatch: @unchecked Sendable {
    public let capacity: Int
    public let vertices: Int
    public let opKinds: Int
    public var size = 0
    public let ops: FloatBuffer      // (B, V, F)
    public let adjacency: FloatBuffer // (B, V, V)
    public let counts: UnsafeMutablePointer<Int32>
    public let flat: FloatBuffer     // (B, V·F + V(V−1)/2)

    var flatWidth: Int { vertices * opKinds + vertices * (vertices - 1) / 2 }

    public init(capacity: Int, vertices: Int = 7, opKinds: Int = 5) {
        self.capacity = capacity
        self.vertices = vertices
        self.opKinds = opKinds
        ops = FloatBuffer(capacity * vertices * opKinds)
        adjacency = FloatBuffer(capacity * vertices * vertices)
        counts = .allocate(capacity: capacity)
        counts.initialize(repeating: 0, count: capacity)
        flat = FloatBuffer(capacity * (vertices * opKinds + vertices * (vertices - 1) / 2))
    }

    deinit { counts.deallocate() }

    /// Fills the batch with `items[indices]`: one-hot ops, adjacency, vertex counts and, unless
    /// `flat` is false (the GCN's structured inference, which never reads it), the flat
    /// [ops ‖ upper triangle] vector.
    func fill<T: GraphWritable>(_ items: [T], _ indices: ArraySlice<Int>, flat writeFlat: Bool = true) {
        precondition(indices.count <= capacity)
        size = indices.count
        let V = vertices, F = opKinds, W = flatWidth
        ops.zero()
        adjacency.zero()
        for (b, i) in indices.enumerated() {
            let o = ops.pointer + b * V * F, a = adjacency.pointer + b * V * V, f = flat.pointer + b * W
            counts[b] = Int32(items[i].writeGraph(ops: o, adjacency: a, vertices: V, opKinds: F))
            guard writeFlat else { continue }
            for k in 0..<(V * F) { f[k] = o[k] }
            var t = V * F
            for r in 0..<V {
                for col in (r + 1)..<max(r + 1, V) {
                    f[t] = a[r * V + col]
                    t += 1
                }
            }
        }
    }
}
