// placeholder until the world lands
export {};
