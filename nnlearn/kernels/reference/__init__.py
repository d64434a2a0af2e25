"""Reference kernels: plain, readable NumPy. The book prints these; every other implementation is tested
against them, and they are tested against finite differences and PyTorch."""
