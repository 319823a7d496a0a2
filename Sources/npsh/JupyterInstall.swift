import Foundation
import Interpreter
import Runtime

/// `npsh jupyter install`: the kernel spec folder — kernel.json, the Python wrapper
/// (Jupyter/npsh_kernel.py, built into npsh's resources) and the logos — where Jupyter,
/// JupyterLab and VS Code look for kernels.
enum JupyterInstall {
    static let files = ["npsh_kernel.py", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]

    static func install(python: String, user: Bool, sysPrefix: Bool, prefix: String?, npsh: String,
                        environment: [String: String]) throws -> String {
        guard [user, sysPrefix, prefix != nil].filter({ $0 }).count <= 1 else {
            throw RuntimeError.unusable(.cannotStart(program: "npsh jupyter install", reason: "choose one of --user, --sys-prefix, --prefix P"))
        }
        // The Python that will run the wrapper: its absolute path, its prefix, and ipykernel.
        let probe = try runCommand([python, "-c", "import sys; print(sys.executable); print(sys.prefix); import ipykernel; print(ipykernel.__version__)"])
        let lines = probe.output.split(separator: "\n").map(String.init)
        guard probe.code == 0, lines.count >= 3 else {
            throw RuntimeError.unusable(.cannotStart(program: python, reason: "it cannot import ipykernel (pip install 'ipykernel>=7'): "
                + probe.errors.split(separator: "\n").suffix(1).joined()))
        }
        let base: String
        if let prefix {
            base = absolutePath(prefix) + "/share/jupyter"
        } else if sysPrefix {
            base = lines[1] + "/share/jupyter"
        } else {
            base = environment["JUPYTER_DATA_DIR"] ?? ((environment["XDG_DATA_HOME"] ?? ((environment["HOME"] ?? "/root") + "/.local/share")) + "/jupyter")
        }
        let folder = base + "/kernels/npsh"
        guard let resources = Bundle.module.resourcePath.map({ $0 + "/Jupyter" }),
              FileManager.default.fileExists(atPath: resources + "/npsh_kernel.py") else {
            throw RuntimeError.fileNotFound("npsh's Jupyter resources (npsh_npsh.resources beside the npsh binary)")
        }
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw RuntimeError.unwritable(folder, reason: "\(error)")
        }
        for f in files {
            let target = folder + "/" + f
            try? FileManager.default.removeItem(atPath: target)
            do { try FileManager.default.copyItem(atPath: resources + "/" + f, toPath: target) } catch {
                throw RuntimeError.unwritable(target, reason: "\(error)")
            }
        }
        let q = JSONWriter.quote
        let spec = """
            {
              "argv": [\(q(lines[0])), "{resource_dir}/npsh_kernel.py", "-f", "{connection_file}"],
              "display_name": "npsh",
              "language": "npsh",
              "interrupt_mode": "signal",
              "env": {"NPSH_BIN": \(q(absolutePath(npsh)))},
              "metadata": {"debugger": false}
            }

            """
        try FileWriter.write(spec, to: folder + "/kernel.json", durable: true)
        return folder
    }
}
