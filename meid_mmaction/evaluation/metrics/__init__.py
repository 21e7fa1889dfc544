# Each module registers its component at definition; add one import per module.
