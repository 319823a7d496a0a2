// SVG rendering of a `Figure`: 720×460 by default, white background, fonts from the
// generic sans-serif family, colours from a fixed colour-blind-safe palette (Okabe–Ito).

public enum SVGRenderer {
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    /// The plot area of a figure and its scales.
    struct Frame {
        let left = 78.0, right = 24.0, top = 46.0, bottom = 62.0
        let W: Double, H: Double
        let xr: ClosedRange<Double>, yr: ClosedRange<Double>
        var pw: Double { W - left - right }
        var ph: Double { H - top - bottom }
        func sx(_ x: Double) -> Double { left + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * pw }
        func sy(_ y: Double) -> Double { top + ph - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * ph }
    }

    static func n(_ v: Double) -> String { formatFixed(v, 2) }

    public static func render(_ f: Figure, width: Int = 720, height: Int = 460) -> String {
        let (xr, yr) = f.bounds()
        let frame = Frame(W: Double(width), H: Double(height), xr: xr, yr: yr)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
            + "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        s += "<title>\(escape(f.title))</title>\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(n(frame.W / 2))\" y=\"26\" font-size=\"17\" text-anchor=\"middle\" font-weight=\"bold\">\(escape(f.title))</text>\n"
        s += axes(f, frame) + series(f, frame) + legend(f, frame)
        return s + "</svg>\n"
    }

    /// Grid, ticks, the frame and the axis labels.
    static func axes(_ f: Figure, _ frame: Frame) -> String {
        let left = frame.left, top = frame.top, pw = frame.pw, ph = frame.ph, H = frame.H, xr = frame.xr, yr = frame.yr
        let sx = frame.sx, sy = frame.sy
        var s = ""
        let xt = niceTicks(xr), yt = niceTicks(yr, target: 6)
        let xstep = xt.count > 1 ? xt[1] - xt[0] : 1, ystep = yt.count > 1 ? yt[1] - yt[0] : 1
        s += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for t in xt { s += "<line x1=\"\(n(sx(t)))\" y1=\"\(n(top))\" x2=\"\(n(sx(t)))\" y2=\"\(n(top + ph))\"/>\n" }
        for t in yt { s += "<line x1=\"\(n(left))\" y1=\"\(n(sy(t)))\" x2=\"\(n(left + pw))\" y2=\"\(n(sy(t)))\"/>\n" }
        s += "</g>\n<g font-size=\"12\" fill=\"#222\">\n"
        for t in xt {
            s += "<line x1=\"\(n(sx(t)))\" y1=\"\(n(top + ph))\" x2=\"\(n(sx(t)))\" y2=\"\(n(top + ph + 5))\" stroke=\"#222\"/>"
            s += "<text x=\"\(n(sx(t)))\" y=\"\(n(top + ph + 19))\" text-anchor=\"middle\">\(tickLabel(t, step: xstep))</text>\n"
        }
        for t in yt {
            s += "<line x1=\"\(n(left - 5))\" y1=\"\(n(sy(t)))\" x2=\"\(n(left))\" y2=\"\(n(sy(t)))\" stroke=\"#222\"/>"
            s += "<text x=\"\(n(left - 8))\" y=\"\(n(sy(t) + 4))\" text-anchor=\"end\">\(tickLabel(t, step: ystep))</text>\n"
        }
        s += "</g>\n"
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(pw))\" height=\"\(n(ph))\" fill=\"none\" stroke=\"#222\"/>\n"
        s += "<text x=\"\(n(left + pw / 2))\" y=\"\(n(H - 18))\" font-size=\"14\" text-anchor=\"middle\">\(escape(f.xLabel))</text>\n"
        s += "<text transform=\"translate(20 \(n(top + ph / 2))) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\">\(escape(f.yLabel))</text>\n"
        return s
    }

    /// The diagonal, the markers and every series, clipped to the plot area.
    static func series(_ f: Figure, _ frame: Frame) -> String {
        let left = frame.left, top = frame.top, pw = frame.pw, ph = frame.ph, xr = frame.xr, yr = frame.yr
        let sx = frame.sx, sy = frame.sy
        var s = ""
        s += "<defs><clipPath id=\"plot\"><rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(pw))\" height=\"\(n(ph))\"/></clipPath></defs>\n"
        s += "<g clip-path=\"url(#plot)\">\n"
        if f.diagonal {
            let lo = max(xr.lowerBound, yr.lowerBound), hi = min(xr.upperBound, yr.upperBound)
            s += "<line x1=\"\(n(sx(lo)))\" y1=\"\(n(sy(lo)))\" x2=\"\(n(sx(hi)))\" y2=\"\(n(sy(hi)))\" stroke=\"#555\" stroke-dasharray=\"6 4\"/>\n"
        }
        for m in f.markers where xr.contains(m.x) {
            let x = m.x, label = m.label
            s += "<line x1=\"\(n(sx(x)))\" y1=\"\(n(top))\" x2=\"\(n(sx(x)))\" y2=\"\(n(top + ph))\" stroke=\"#777\" stroke-dasharray=\"2 3\"/>"
            s += "<text x=\"\(n(sx(x) + 4))\" y=\"\(n(top + ph - 6))\" font-size=\"11\" fill=\"#555\">\(escape(label))</text>\n"
        }
        for (k, series) in f.series.enumerated() {
            let color = palette[k % palette.count]
            let pts = series.xs.indices.filter { series.xs[$0].isFinite && series.ys[$0].isFinite }
            switch series.style {
            case .line:
                if let band = series.band, pts.count > 1 {
                    let upper = pts.map { "\(n(sx(series.xs[$0]))),\(n(sy(series.ys[$0] + band[$0])))" }
                    let lower = pts.reversed().map { "\(n(sx(series.xs[$0]))),\(n(sy(series.ys[$0] - band[$0])))" }
                    s += "<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(color)\" fill-opacity=\"0.15\" stroke=\"none\"/>\n"
                }
                if pts.count == 1 {
                    let i = pts[0]
                    s += "<circle cx=\"\(n(sx(series.xs[i])))\" cy=\"\(n(sy(series.ys[i])))\" r=\"3.5\" fill=\"\(color)\"/>\n"
                } else {
                    s += "<polyline points=\"" + pts.map { "\(n(sx(series.xs[$0]))),\(n(sy(series.ys[$0])))" }.joined(separator: " ")
                        + "\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>\n"
                }
            case .points:
                s += "<g fill=\"\(color)\" fill-opacity=\"0.45\">"
                for i in pts { s += "<circle cx=\"\(n(sx(series.xs[i])))\" cy=\"\(n(sy(series.ys[i])))\" r=\"2\"/>" }
                s += "</g>\n"
            case .bars:
                s += "<g fill=\"\(color)\" fill-opacity=\"0.55\" stroke=\"\(color)\">"
                for i in pts {
                    let x0 = sx(series.xs[i]), x1 = sx(series.xs[i] + f.barWidth), y0 = sy(max(0, series.ys[i])), y1 = sy(0)
                    s += "<rect x=\"\(n(x0))\" y=\"\(n(y0))\" width=\"\(n(max(0.5, x1 - x0)))\" height=\"\(n(max(0, y1 - y0)))\"/>"
                }
                s += "</g>\n"
            }
        }
        s += "</g>\n"
        return s
    }

    /// The legend inside the plot, in the corner that covers the fewest data points.
    static func legend(_ f: Figure, _ frame: Frame) -> String {
        let left = frame.left, top = frame.top, pw = frame.pw, ph = frame.ph
        let sx = frame.sx, sy = frame.sy
        var s = ""
        let entries = f.series.map(\.name) + f.notes
        if !entries.isEmpty {
            let lw = Double(entries.map(\.count).max()! * 7 + 40), lh = Double(entries.count) * 18 + 10
            let corners = [(left + 10, top + 10), (left + pw - lw - 10, top + 10), (left + pw - lw - 10, top + ph - lh - 10), (left + 10, top + ph - lh - 10)]
            var covered = [Int](repeating: 0, count: corners.count)
            for series in f.series {
                let stride = max(1, series.xs.count / 2000)
                for i in Swift.stride(from: 0, to: series.xs.count, by: stride) where series.xs[i].isFinite && series.ys[i].isFinite {
                    let px = sx(series.xs[i])
                    let b = series.band?[i] ?? 0
                    for (c, (cx, cy)) in corners.enumerated() where px >= cx - 4 && px <= cx + lw + 4 {
                        let y0 = sy(series.ys[i] + b), y1 = sy(series.ys[i] - b)
                        if y1 >= cy - 4 && y0 <= cy + lh + 4 { covered[c] += 1 }
                    }
                }
            }
            let best = covered.indices.min { covered[$0] < covered[$1] }!
            let (lx, ly) = corners[best]
            s += "<g font-size=\"12\"><rect x=\"\(n(lx))\" y=\"\(n(ly))\" width=\"\(n(lw))\" height=\"\(n(lh))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n"
            for (k, text) in entries.enumerated() {
                let y = ly + 17 + Double(k) * 18
                if k < f.series.count {
                    let color = palette[k % palette.count]
                    switch f.series[k].style {
                    case .line: s += "<line x1=\"\(n(lx + 8))\" y1=\"\(n(y - 4))\" x2=\"\(n(lx + 28))\" y2=\"\(n(y - 4))\" stroke=\"\(color)\" stroke-width=\"3\"/>"
                    case .points: s += "<circle cx=\"\(n(lx + 18))\" cy=\"\(n(y - 4))\" r=\"4\" fill=\"\(color)\"/>"
                    case .bars: s += "<rect x=\"\(n(lx + 10))\" y=\"\(n(y - 10))\" width=\"16\" height=\"10\" fill=\"\(color)\" fill-opacity=\"0.55\"/>"
                    }
                }
                s += "<text x=\"\(n(lx + 34))\" y=\"\(n(y))\">\(escape(text))</text>\n"
            }
            s += "</g>\n"
        }
        return s
    }

    public static func escape(_ t: String) -> String {
        var o = ""
        for c in t {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }
}

/// A compact terminal preview: Braille dots (2×4 per character), one mark per series in
/// the legend, axis ranges printed beside the canvas.
public enum TerminalPlot {
    public static func render(_ f: Figure, columns: Int = 60, rows: Int = 14) -> String {
        let (xr, yr) = f.bounds()
        let pxW = columns * 2, pxH = rows * 4
        var dots = [[UInt8]](repeating: [UInt8](repeating: 0, count: columns), count: rows)
        let bits: [[UInt8]] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]]
        func plot(_ x: Double, _ y: Double) {
            guard x.isFinite, y.isFinite else { return }
            let px = Int(((x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * Double(pxW - 1)).rounded())
            let py = Int(((yr.upperBound - y) / (yr.upperBound - yr.lowerBound) * Double(pxH - 1)).rounded())
            guard px >= 0, px < pxW, py >= 0, py < pxH else { return }
            dots[py / 4][px / 2] |= bits[py % 4][px % 2]
        }
        for s in f.series {
            switch s.style {
            case .points: for i in s.xs.indices { plot(s.xs[i], s.ys[i]) }
            case .bars:
                for i in s.xs.indices where s.ys[i] > 0 {
                    let steps = 12
                    for k in 0...steps { plot(s.xs[i] + f.barWidth / 2, s.ys[i] * Double(k) / Double(steps)) }
                }
            case .line:
                for i in s.xs.indices {
                    plot(s.xs[i], s.ys[i])
                    if i + 1 < s.xs.count {
                        // Enough steps to leave no gap between dots.
                        let dx = abs(s.xs[i + 1] - s.xs[i]) / (xr.upperBound - xr.lowerBound) * Double(pxW)
                        let dy = abs(s.ys[i + 1] - s.ys[i]) / (yr.upperBound - yr.lowerBound) * Double(pxH)
                        let steps = max(2, Int(max(dx, dy).rounded(.up)) + 1)
                        for k in 1..<steps {
                            let t = Double(k) / Double(steps)
                            plot(s.xs[i] + (s.xs[i + 1] - s.xs[i]) * t, s.ys[i] + (s.ys[i + 1] - s.ys[i]) * t)
                        }
                    }
                }
            }
        }
        let yt = niceTicks(yr, target: 3)
        let ystep = yt.count > 1 ? yt[1] - yt[0] : 1
        let hi = tickLabel(yr.upperBound, step: ystep / 10), lo = tickLabel(yr.lowerBound, step: ystep / 10)
        let pad = max(hi.count, lo.count)
        var out = [f.title]
        for (r, row) in dots.enumerated() {
            let label = r == 0 ? hi : r == rows - 1 ? lo : ""
            let line = String(String.UnicodeScalarView(row.map { Unicode.Scalar(0x2800 + UInt32($0))! }))
            out.append(String(repeating: " ", count: pad - label.count) + label + " ┤" + line)
        }
        let xt = niceTicks(xr, target: 3)
        let xstep = xt.count > 1 ? xt[1] - xt[0] : 1
        let xlo = tickLabel(xr.lowerBound, step: xstep / 10), xhi = tickLabel(xr.upperBound, step: xstep / 10)
        out.append(String(repeating: " ", count: pad + 1) + "└" + String(repeating: "─", count: columns))
        out.append(String(repeating: " ", count: pad + 2) + xlo + String(repeating: " ", count: max(1, columns - xlo.count - xhi.count)) + xhi)
        out.append("x: \(f.xLabel)   y: \(f.yLabel)")
        out.append(f.series.map(\.name).joined(separator: " · ") + (f.notes.isEmpty ? "" : "   " + f.notes.joined(separator: "  ")))
        return out.joined(separator: "\n")
    }
}
