# lit configuration for VAR: var-opt / varc tests checked with FileCheck.
import os
import lit.formats

config.name = "VAR"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.var_obj_root, "test")

path = os.pathsep.join([config.var_tools_dir, config.llvm_tools_dir,
                        config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path
config.substitutions.append(("%var_src_root", config.var_src_root))
config.substitutions.append(("%models", os.path.join(config.var_src_root, "models")))
config.substitutions.append(("%var_tools_dir", config.var_tools_dir))
if os.path.exists(os.path.join(config.var_tools_dir, "var-devices")):
    config.available_features.add("cuda")

# "gpu": the CUDA build finds a GPU it can run on (var-devices exits 0).
if "cuda" in config.available_features:
    import subprocess
    probe = subprocess.run([os.path.join(config.var_tools_dir, "var-devices")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if probe.returncode == 0:
        config.available_features.add("gpu")
