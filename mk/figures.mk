# make figures: the README's Figures table from make bench's output.
