"""Training objectives, one file each; importing the package registers the built-in ones (in
this order, which help texts and error messages list)."""

from mutorbench.methods import ntp  # noqa: F401, I001
from mutorbench.methods import mutor  # noqa: F401
from mutorbench.methods import multi_token  # noqa: F401
from mutorbench.methods import teacherless  # noqa: F401
from mutorbench.methods import mutor_2d  # noqa: F401
