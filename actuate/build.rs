// `actuate` links the worker, hence libpython (its Python runners embed CPython). Without an
// rpath the binary could load a different libpython3.11 at run time than the one it was built
// against.
fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
